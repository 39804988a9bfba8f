// SIFT keypoints and descriptors from OpenCV (the baseline extractor: no weights, works on day
// one). RootSIFT (Arandjelovic & Zisserman 2012: L1-normalise, square root, then L2-normalise, as
// LightGlue's SIFT front end does) is on by default; plain SIFT descriptors are L2-normalised.
// The keypoint size and the orientation (in radians) are kept for LightGlue's SIFT model.
#pragma once
#include "matching/extractor.h"

namespace wildreid::matching {

class SiftExtractor : public LocalExtractor {
 public:
  explicit SiftExtractor(const ExtractorOptions& options);
  LocalFeatures extract(const cv::Mat& bgr, const std::string& what) override;
  const ExtractorOptions& options() const override { return options_; }

 private:
  ExtractorOptions options_;
};

// The RootSIFT mapping of raw SIFT descriptors [N, 128].
at::Tensor root_sift(const at::Tensor& descriptors);

}  // namespace wildreid::matching
