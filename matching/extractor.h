// A local feature extractor: one 8-bit BGR image in, its LocalFeatures out, in the pixel frame of
// the image after resizing to the configured long side (each extractor resizes itself, so the
// caller can hand over any decode). Implementations are safe to call from several threads.
#pragma once
#include <memory>
#include <string>

#include <opencv2/core.hpp>

#include "matching/extractor_options.h"
#include "matching/local_features.h"

namespace wildreid::matching {

class LocalExtractor {
 public:
  virtual ~LocalExtractor() = default;
  // Throws std::invalid_argument naming `what` for an empty image; an image without structure
  // (blank, one pixel) gives zero keypoints, not an error.
  virtual LocalFeatures extract(const cv::Mat& bgr, const std::string& what) = 0;
  virtual const ExtractorOptions& options() const = 0;
  // True when calls run on a GPU (then one caller thread is enough).
  virtual bool on_gpu() const { return false; }
};

// SIFT (OpenCV) or ALIKED (LibTorch, weights loaded from options.weights); validates the options.
std::unique_ptr<LocalExtractor> make_extractor(const ExtractorOptions& options);

}  // namespace wildreid::matching
