#include "identify/classifier.h"

#include <ATen/ATen.h>

#include <limits>
#include <set>
#include <stdexcept>

namespace wildreid::identify {

Predictions argmax_softmax(const at::Tensor& logits, const at::Tensor& allowed,
                           const std::vector<std::string>& class_keys) {
  const auto minus_inf = at::full({}, -std::numeric_limits<float>::infinity());
  const auto masked = at::where(allowed, logits.to(at::kCPU, at::kFloat), minus_inf);
  const auto probs = at::softmax(masked, 1);
  const auto [best, index] = probs.max(1);
  const auto any = allowed.any(1);
  Predictions out(static_cast<size_t>(logits.size(0)));
  const auto b = best.accessor<float, 1>();
  const auto k = index.accessor<int64_t, 1>();
  const auto any_cpu = any.contiguous();
  const auto a = any_cpu.accessor<bool, 1>();
  for (int64_t i = 0; i < logits.size(0); ++i) {
    if (!a[i]) continue;
    out[i].identity = class_keys[k[i]];
    out[i].confidence = b[i];
  }
  return out;
}

at::Tensor class_mask_by_dataset(const std::vector<std::string>& class_keys, const RowTable& t, bool within_dataset,
                                 const std::set<std::string>& database_keys) {
  const int64_t c = static_cast<int64_t>(class_keys.size());
  const int64_t datasets = static_cast<int64_t>(t.dataset_names.size());
  auto mask = at::zeros({datasets, c}, at::kBool);
  auto m = mask.accessor<bool, 2>();
  for (int64_t k = 0; k < c; ++k) {
    if (!database_keys.count(class_keys[k])) continue;
    for (int64_t d = 0; d < datasets; ++d)
      m[d][k] = !within_dataset || class_keys[k].compare(0, t.dataset_names[d].size() + 1, t.dataset_names[d] + "/") == 0;
  }
  return mask;
}

Predictions classify(const ModelEmbeddings& model, const Scenario& s, const RowTable& t, bool within_dataset) {
  if (!model.logits.defined())
    throw std::runtime_error("classifier: model '" + model.name + "' has no logits (its weights had no trained head)");
  std::set<std::string> database_keys;
  for (const int64_t r : s.database) database_keys.insert(t.key[r]);
  const int64_t c = model.logits.size(1);
  const auto mask = class_mask_by_dataset(model.label_names, t, within_dataset, database_keys);
  const int64_t usable = mask.any(0).sum().item<int64_t>();
  if (usable == 0)
    throw std::runtime_error("classifier: none of model '" + model.name + "''s " + std::to_string(c) +
                             " label names (e.g. '" + (c ? model.label_names[0] : std::string()) +
                             "') is an identity of the database");
  const auto q_rows = s.query_rows();
  const auto dataset = at::tensor(at::ArrayRef<int64_t>(t.dataset_id), at::kLong).index_select(0, q_rows);
  return argmax_softmax(model.logits.index_select(0, q_rows), mask.index_select(0, dataset),
                        model.label_names);
}

}  // namespace wildreid::identify
