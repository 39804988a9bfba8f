// See pair_score.h.
#include "matching/pair_score.h"

#include <ATen/ATen.h>

#include <opencv2/calib3d.hpp>

#include <vector>

namespace wildreid::matching {

PairMatch confident_matches(const PairMatch& match, double threshold) {
  at::Tensor keep = (match.confidence > threshold).nonzero().select(1, 0);
  return {match.matches.index_select(0, keep), match.confidence.index_select(0, keep)};
}

float pair_score(const PairMatch& match, const LocalFeatures& a, const LocalFeatures& b, const ScoreOptions& o) {
  const PairMatch kept = confident_matches(match, o.threshold);
  const int64_t n = kept.matches.size(0);
  if (!o.ransac) return static_cast<float>(n);
  if (n < 8) return 0.f;
  at::Tensor p0 = a.keypoints.index_select(0, kept.matches.select(1, 0)).contiguous();
  at::Tensor p1 = b.keypoints.index_select(0, kept.matches.select(1, 1)).contiguous();
  cv::Mat m0(static_cast<int>(n), 2, CV_32F, p0.data_ptr<float>());
  cv::Mat m1(static_cast<int>(n), 2, CV_32F, p1.data_ptr<float>());
  std::vector<uchar> inliers;
  cv::Mat f = cv::findFundamentalMat(m0, m1, cv::USAC_MAGSAC, o.ransac_threshold_px, o.ransac_confidence,
                                     o.ransac_iterations, inliers);
  if (f.empty()) return 0.f;
  int count = 0;
  for (uchar v : inliers) count += v != 0;
  return static_cast<float>(count);
}

}  // namespace wildreid::matching
