// One block of queries at a time: [b, D] x [D, N] on the device, mask other groups to -inf,
// topk, copy [b, B] back. The database is moved to the device once.
#include "identify/similarity.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>

#include <limits>
#include <stdexcept>
#include <string>

namespace wildreid::identify {

at::Tensor l2_normalize(const at::Tensor& x) {
  return x / x.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12);
}

c10::Device resolve_device(const std::string& name) {
  if (name == "auto") return at::hasCUDA() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  c10::Device device(c10::kCPU);
  try {
    device = c10::Device(name);
  } catch (const std::exception&) {
    throw std::invalid_argument("device '" + name + "' is not auto, cpu or cuda[:N]");
  }
  if (device.is_cuda() && !at::hasCUDA()) throw std::invalid_argument("device '" + name + "': no CUDA device here");
  return device;
}

Shortlist cosine_shortlist(const at::Tensor& queries, const at::Tensor& database, const at::Tensor& query_group,
                           const at::Tensor& database_group, const ShortlistOptions& o) {
  if (queries.dim() != 2 || database.dim() != 2 || queries.size(1) != database.size(1))
    throw std::invalid_argument("cosine_shortlist: queries and database must be [Q, D] and [N, D]");
  const int64_t q = queries.size(0), n = database.size(0);
  const int64_t top = (o.top <= 0 || o.top > n) ? n : o.top;
  Shortlist out{at::full({q, top}, -1, at::kLong), at::full({q, top}, -std::numeric_limits<float>::infinity())};
  if (q == 0 || n == 0 || top == 0) return out;
  const auto db = database.to(o.device, at::kFloat).contiguous();
  const bool grouped = query_group.defined() && database_group.defined();
  const auto db_group = grouped ? database_group.to(o.device, at::kLong) : at::Tensor();
  const auto minus_inf = at::full({}, -std::numeric_limits<float>::infinity(), db.options());
  for (int64_t start = 0; start < q; start += o.block) {
    const int64_t b = std::min(o.block, q - start);
    const auto block = queries.narrow(0, start, b).to(o.device, at::kFloat);
    auto scores = at::mm(block, db.t());
    if (grouped) {
      const auto qg = query_group.narrow(0, start, b).to(o.device, at::kLong);
      scores = at::where(qg.unsqueeze(1) == db_group.unsqueeze(0), scores, minus_inf);
    }
    auto [values, index] = at::topk(scores, top, /*dim=*/1, /*largest=*/true, /*sorted=*/true);
    index = at::where(at::isneginf(values), at::full_like(index, -1), index);
    out.score.narrow(0, start, b).copy_(values);
    out.index.narrow(0, start, b).copy_(index);
  }
  return out;
}

at::Tensor pair_cosine(const at::Tensor& queries, const at::Tensor& database, const at::Tensor& db_index,
                       const ShortlistOptions& o) {
  if (db_index.dim() != 2 || db_index.size(0) != queries.size(0))
    throw std::invalid_argument("pair_cosine: db_index must be [Q, B] with one row per query");
  const int64_t q = queries.size(0), top = db_index.size(1);
  auto out = at::full({q, top}, -std::numeric_limits<float>::infinity());
  if (q == 0 || top == 0 || database.size(0) == 0) return out;
  const auto db = database.to(o.device, at::kFloat).contiguous();
  for (int64_t start = 0; start < q; start += o.block) {
    const int64_t b = std::min(o.block, q - start);
    const auto block = queries.narrow(0, start, b).to(o.device, at::kFloat);
    const auto index = db_index.narrow(0, start, b).to(o.device);
    const auto valid = index.ge(0);
    const auto rows = db.index_select(0, index.clamp_min(0).flatten()).view({b, top, db.size(1)});
    auto scores = at::bmm(rows, block.unsqueeze(2)).squeeze(2);
    scores = at::where(valid, scores, at::full({}, -std::numeric_limits<float>::infinity(), scores.options()));
    out.narrow(0, start, b).copy_(scores);
  }
  return out;
}

}  // namespace wildreid::identify
