// Rule fusion: a hand-written pairwise combination of two predictions per query, the seed's way
// of joining WildFusion runs and a classifier. Each side's confidence is first multiplied by its
// weight. When both name the same identity, the result is that identity with the weighted mean
// (wa*ca + wb*cb) / (wa + wb) - or, with `mean: plain`, (wa*ca + wb*cb) / 2 - times
// `agree_boost`. When they differ, one side is picked - a named side,
// or the one with the higher weighted confidence - and the result is its identity with its
// weighted confidence times that side's boost. A side without an identity always loses. Steps
// chain: a step's result can be a side of a later step.
#pragma once
#include <string>

#include "identify/prediction.h"

namespace wildreid::identify {

struct FusionRule {
  enum class Pick { kA, kB, kHigher };
  enum class Mean { kPlain, kWeighted };  // plain: (wa*ca + wb*cb) / 2; weighted: ... / (wa + wb)

  std::string name, a, b;  // result name; the two inputs (component or earlier step names)
  double weight_a = 1, weight_b = 1;
  double agree_boost = 1;
  Pick disagree = Pick::kHigher;
  double boost_a = 1, boost_b = 1;  // applied to the picked side on disagreement
  Mean mean = Mean::kWeighted;
};

Prediction fuse(const Prediction& a, const Prediction& b, const FusionRule& rule);
Predictions fuse(const Predictions& a, const Predictions& b, const FusionRule& rule);

}  // namespace wildreid::identify
