// See sift_extractor.h. A cv::SIFT object is created per call: OpenCV does not promise that one
// Feature2D may be used from several threads, and creation is cheap next to detection. OpenCV may
// return more than nfeatures keypoints when responses tie; the strongest max_keypoints are kept.
#include "matching/sift_extractor.h"

#include <ATen/ATen.h>

#include <opencv2/features2d.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "matching/image_source.h"

namespace wildreid::matching {

SiftExtractor::SiftExtractor(const ExtractorOptions& options) : options_(options) {}

at::Tensor root_sift(const at::Tensor& descriptors) {
  constexpr double eps = 1e-6;
  at::Tensor x = descriptors / descriptors.abs().sum(1, true).clamp_min(eps);
  x = x.clamp_min(eps).sqrt();
  return x / x.norm(2, 1, true).clamp_min(eps);
}

LocalFeatures SiftExtractor::extract(const cv::Mat& bgr, const std::string& what) {
  if (bgr.empty()) throw std::invalid_argument("image " + what + " is empty (no pixels)");
  cv::Mat gray;
  cv::cvtColor(resize_long_side(bgr, options_.size), gray, cv::COLOR_BGR2GRAY);
  std::vector<cv::KeyPoint> keypoints;
  cv::Mat desc;
  const int cap = options_.max_keypoints > 0 ? static_cast<int>(options_.max_keypoints) : 0;
  const double contrast = options_.detection_threshold > 0 ? options_.detection_threshold : 0.04;
  try {
    cv::SIFT::create(cap, 3, contrast)->detectAndCompute(gray, cv::noArray(), keypoints, desc);
  } catch (const cv::Exception& e) {
    throw std::runtime_error("SIFT on image " + what + " failed: " + e.what());
  }
  std::vector<int> order(keypoints.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return keypoints[a].response > keypoints[b].response; });
  if (cap > 0 && static_cast<int>(order.size()) > cap) order.resize(cap);
  const int64_t n = static_cast<int64_t>(order.size());
  LocalFeatures f = empty_features(128, gray.cols, gray.rows, /*with_scale_ori=*/true);
  if (n == 0) return f;
  f.keypoints = at::empty({n, 2}, at::kFloat);
  f.scores = at::empty({n}, at::kFloat);
  f.scales = at::empty({n}, at::kFloat);
  f.oris = at::empty({n}, at::kFloat);
  at::Tensor raw = at::empty({n, 128}, at::kFloat);
  auto kp = f.keypoints.accessor<float, 2>();
  for (int64_t i = 0; i < n; ++i) {
    const cv::KeyPoint& k = keypoints[order[i]];
    kp[i][0] = k.pt.x;
    kp[i][1] = k.pt.y;
    f.scores[i] = k.response;
    f.scales[i] = k.size;
    f.oris[i] = static_cast<float>(k.angle * M_PI / 180.0);
    std::copy_n(desc.ptr<float>(order[i]), 128, raw[i].data_ptr<float>());
  }
  f.descriptors = options_.rootsift ? root_sift(raw) : raw / raw.norm(2, 1, true).clamp_min(1e-6);
  return f;
}

}  // namespace wildreid::matching
