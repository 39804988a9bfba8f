// See ratio_matcher.h.
#include "matching/ratio_matcher.h"

#include <ATen/ATen.h>

namespace wildreid::matching {

PairMatch no_matches() { return {at::zeros({0, 2}, at::kLong), at::zeros({0}, at::kFloat)}; }

PairMatch match_mutual_ratio(const LocalFeatures& a, const LocalFeatures& b) {
  if (a.size() == 0 || b.size() < 2 || a.dim() != b.dim()) return no_matches();
  const at::Tensor da = a.descriptors, db = b.descriptors;
  // Squared distances [M, N].
  at::Tensor d2 = at::addmm((da * da).sum(1, true) + (db * db).sum(1).unsqueeze(0), da, db.t(), 1.0, -2.0)
                      .clamp_min_(0);
  auto [nearest, index] = at::topk(d2, 2, 1, /*largest=*/false);  // [M, 2]
  at::Tensor back = std::get<1>(d2.min(0));                        // nearest row of every column
  at::Tensor best = index.select(1, 0);
  at::Tensor mutual = back.index_select(0, best) == at::arange(a.size(), best.options());
  at::Tensor ratio = (nearest.select(1, 0) / nearest.select(1, 1).clamp_min(1e-12)).sqrt();
  at::Tensor rows = mutual.nonzero().select(1, 0);
  return {at::stack({rows, best.index_select(0, rows)}, 1), (1 - ratio.index_select(0, rows)).to(at::kFloat)};
}

std::vector<PairMatch> RatioMatcher::match(const std::vector<FeaturePair>& pairs) {
  std::vector<PairMatch> out;
  out.reserve(pairs.size());
  for (const auto& [a, b] : pairs) out.push_back(match_mutual_ratio(*a, *b));
  return out;
}

}  // namespace wildreid::matching
