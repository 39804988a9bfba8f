#include "identify/rule_fusion.h"

#include <stdexcept>

namespace wildreid::identify {

Prediction fuse(const Prediction& a, const Prediction& b, const FusionRule& r) {
  if (!a.has_identity() && !b.has_identity()) return {};
  const double wa = r.weight_a * a.confidence, wb = r.weight_b * b.confidence;
  if (a.has_identity() && b.has_identity() && a.identity == b.identity) {
    const double denominator = r.mean == FusionRule::Mean::kPlain ? 2.0 : r.weight_a + r.weight_b;
    return {a.identity, (wa + wb) / denominator * r.agree_boost};
  }
  bool pick_a;
  if (!b.has_identity()) pick_a = true;
  else if (!a.has_identity()) pick_a = false;
  else if (r.disagree == FusionRule::Pick::kA) pick_a = true;
  else if (r.disagree == FusionRule::Pick::kB) pick_a = false;
  else pick_a = wa >= wb;  // equal weighted confidences: side a
  return pick_a ? Prediction{a.identity, wa * r.boost_a} : Prediction{b.identity, wb * r.boost_b};
}

Predictions fuse(const Predictions& a, const Predictions& b, const FusionRule& r) {
  if (a.size() != b.size())
    throw std::invalid_argument("fusion '" + r.name + "': '" + r.a + "' has " + std::to_string(a.size()) +
                                " predictions, '" + r.b + "' has " + std::to_string(b.size()));
  Predictions out(a.size());
  for (size_t i = 0; i < a.size(); ++i) out[i] = fuse(a[i], b[i], r);
  return out;
}

}  // namespace wildreid::identify
