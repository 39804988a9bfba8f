// See aliked_extractor.h. Inference only: eval mode, no autograd; the module is read-only after
// loading, so concurrent extract() calls are safe.
#include "matching/aliked_extractor.h"

#include <ATen/ATen.h>

#include <opencv2/imgproc.hpp>

#include <stdexcept>

#include "matching/image_source.h"
#include "checkpoints/weights_file.h"
#include "matching/network_weights.h"

namespace wildreid::matching {

AlikedExtractor::AlikedExtractor(const ExtractorOptions& options) : options_(options), device_(options.device) {
  AlikedOptions o;
  o.variant = aliked_variant_of(options);
  o.max_keypoints = options.max_keypoints;
  o.detection_threshold = options.detection_threshold;
  model_ = Aliked(o);
  load_aliked_weights(*model_, checkpoints::read_weights_file(options.weights), options.weights);
  model_->to(device_);
}

LocalFeatures AlikedExtractor::extract(const cv::Mat& bgr, const std::string& what) {
  if (bgr.empty()) throw std::invalid_argument("image " + what + " is empty (no pixels)");
  cv::Mat rgb;
  cv::cvtColor(resize_long_side(bgr, options_.size), rgb, cv::COLOR_BGR2RGB);
  at::NoGradGuard no_grad;
  at::Tensor image = at::from_blob(rgb.data, {1, rgb.rows, rgb.cols, 3}, at::kByte)
                         .permute({0, 3, 1, 2})
                         .to(device_, at::kFloat)
                         .div_(255.0);
  LocalFeatures f = model_->extract(image);
  for (at::Tensor* t : {&f.keypoints, &f.descriptors, &f.scores}) *t = t->contiguous().cpu();
  return f;
}

}  // namespace wildreid::matching
