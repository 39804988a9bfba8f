#include "identify/pipeline.h"

#include <ATen/ATen.h>

#include <limits>
#include <set>
#include <stdexcept>

namespace wildreid::identify {

GlobalPipeline::GlobalPipeline(std::string name, at::Tensor features, ShortlistOptions options)
    : name_(std::move(name)), features_(std::move(features)), options_(options) {}

Shortlist GlobalPipeline::shortlist(const Scenario& s, const RowTable& t, int64_t top, bool within_dataset) const {
  const auto q_rows = s.query_rows(), db_rows = s.database_rows();
  at::Tensor q_group, db_group;
  if (within_dataset) {
    const auto ids = at::tensor(at::ArrayRef<int64_t>(t.dataset_id), at::kLong);
    q_group = ids.index_select(0, q_rows);
    db_group = ids.index_select(0, db_rows);
  }
  ShortlistOptions o = options_;
  o.top = top;
  Shortlist out = cosine_shortlist(features_.index_select(0, q_rows), features_.index_select(0, db_rows), q_group,
                                   db_group, o);
  // Positions in the scenario's database -> row indices.
  out.index = at::where(out.index.ge(0), db_rows.index_select(0, out.index.clamp_min(0).flatten()).view_as(out.index),
                        out.index);
  return out;
}

at::Tensor GlobalPipeline::score(const std::vector<int64_t>& query_rows, const at::Tensor& database_rows) {
  const auto q = at::tensor(at::ArrayRef<int64_t>(query_rows), at::kLong);
  return pair_cosine(features_.index_select(0, q), features_, database_rows, options_);
}

LocalPipeline::LocalPipeline(std::string name, std::unique_ptr<PairScorer> scorer, const EmbeddingRows& rows)
    : name_(std::move(name)), scorer_(std::move(scorer)), rows_(rows) {
  if (!scorer_) throw std::invalid_argument("local pipeline '" + name_ + "': no scorer");
}

at::Tensor LocalPipeline::score(const std::vector<int64_t>& query_rows, const at::Tensor& database_rows) {
  const auto db = database_rows.to(at::kCPU, at::kLong).contiguous();
  const int64_t q = db.size(0), top = db.size(1);
  const auto acc = db.accessor<int64_t, 2>();
  std::vector<std::pair<int64_t, int64_t>> missing;
  std::set<std::pair<int64_t, int64_t>> asked;  // a pair twice in one call is scored once
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int64_t i = 0; i < q; ++i)
    for (int64_t j = 0; j < top; ++j) {
      const auto key = std::make_pair(query_rows[i], acc[i][j]);
      if (acc[i][j] < 0 || cache_.count(key) || !asked.insert(key).second) continue;
      missing.push_back(key);
      pairs.emplace_back(rows_.image_id[key.first], rows_.image_id[key.second]);
    }
  if (!pairs.empty()) {
    const auto scores = scorer_->score_pairs(pairs);
    if (scores.size() != pairs.size())
      throw std::runtime_error("local pipeline '" + name_ + "': scorer " + scorer_->name() + " returned " +
                               std::to_string(scores.size()) + " scores for " + std::to_string(pairs.size()) + " pairs");
    for (size_t k = 0; k < missing.size(); ++k) cache_[missing[k]] = scores[k];
  }
  auto out = at::full({q, top}, -std::numeric_limits<float>::infinity());
  auto o = out.accessor<float, 2>();
  for (int64_t i = 0; i < q; ++i)
    for (int64_t j = 0; j < top; ++j)
      if (acc[i][j] >= 0) o[i][j] = cache_.at({query_rows[i], acc[i][j]});
  return out;
}

}  // namespace wildreid::identify
