// The baseline matcher: mutual nearest neighbours in descriptor (L2) space, each with confidence
// 1 - d1/d2 (d1, d2: distances to the nearest and second-nearest descriptor of the other image),
// so keeping confidence > 0.2 is Lowe's ratio test at 0.8. Distances come from one matrix product
// per pair (|a|^2 + |b|^2 - 2ab), which is what makes it fast next to OpenCV's brute-force kNN.
#pragma once
#include "matching/pair_matcher.h"

namespace wildreid::matching {

class RatioMatcher : public PairMatcher {
 public:
  std::string name() const override { return "ratio"; }
  std::vector<PairMatch> match(const std::vector<FeaturePair>& pairs) override;
};

// One pair. An image with fewer than two keypoints has no ratio, hence no matches.
PairMatch match_mutual_ratio(const LocalFeatures& a, const LocalFeatures& b);

}  // namespace wildreid::matching
