// The number a pair of images is scored with, as wildlife-tools defines it: the count of matches
// whose confidence is above a threshold (0.5 for LightGlue in wildlife-tools' CollectCounts), or,
// with verification on, the inliers of a fundamental matrix fitted to those matches by OpenCV's
// USAC (MAGSAC++, 1 px, confidence 0.999, 100 iterations, as its CollectCountsRansac); fewer than
// 8 matches score 0 then.
#pragma once
#include "matching/local_features.h"
#include "matching/pair_matcher.h"

namespace wildreid::matching {

struct ScoreOptions {
  double threshold = 0.5;  // a match counts when its confidence is above this
  bool ransac = false;
  double ransac_threshold_px = 1.0;
  double ransac_confidence = 0.999;
  int ransac_iterations = 100;
};

float pair_score(const PairMatch& match, const LocalFeatures& a, const LocalFeatures& b, const ScoreOptions& options);

// The matches that count (confidence above the threshold), for drawing.
PairMatch confident_matches(const PairMatch& match, double threshold);

}  // namespace wildreid::matching
