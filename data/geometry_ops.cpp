// See geometry_ops.h. PIL samples an output pixel at its centre (x + 0.5, y + 0.5); OpenCV's
// pixel centres are the integers, so the PIL matrices below are shifted by half a pixel.
#include "data/geometry_ops.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace wildreid::data::geometry {

CropBox random_resized_crop_box(int height, int width, const std::array<double, 2>& scale,
                                const std::array<double, 2>& ratio, SampleRng& rng) {
  const double area = static_cast<double>(height) * width;
  const double log_lo = std::log(ratio[0]), log_hi = std::log(ratio[1]);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * rng.uniform(scale[0], scale[1]);
    const double aspect = std::exp(rng.uniform(log_lo, log_hi));
    const int w = static_cast<int>(std::lround(std::sqrt(target_area * aspect)));
    const int h = static_cast<int>(std::lround(std::sqrt(target_area / aspect)));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const int top = static_cast<int>(rng.randint(0, height - h + 1));
      const int left = static_cast<int>(rng.randint(0, width - w + 1));
      return {top, left, h, w};
    }
  }
  const double in_ratio = static_cast<double>(width) / height;
  int w = width, h = height;
  if (in_ratio < std::min(ratio[0], ratio[1])) {
    h = static_cast<int>(std::lround(w / std::min(ratio[0], ratio[1])));
  } else if (in_ratio > std::max(ratio[0], ratio[1])) {
    w = static_cast<int>(std::lround(h * std::max(ratio[0], ratio[1])));
  }
  return {(height - h) / 2, (width - w) / 2, h, w};
}

CropBox resize_center_crop_box(int height, int width, int64_t resize_to, int64_t size) {
  // torchvision Resize(int): shorter side -> resize_to, longer side -> int(resize_to * long / short).
  const double s = static_cast<double>(resize_to) / std::min(height, width);
  const int64_t rh = height <= width ? resize_to : static_cast<int64_t>(resize_to * (double)height / width);
  const int64_t rw = width <= height ? resize_to : static_cast<int64_t>(resize_to * (double)width / height);
  // CenterCrop: top = round((rh - size) / 2) in resized pixels (Python's round: half to even),
  // mapped back to the source.
  const double top = std::nearbyint((rh - size) / 2.0), left = std::nearbyint((rw - size) / 2.0);
  CropBox box;
  box.top = static_cast<int>(std::lround(top / s));
  box.left = static_cast<int>(std::lround(left / s));
  box.height = std::clamp(static_cast<int>(std::lround(size / s)), 1, height - box.top);
  box.width = std::clamp(static_cast<int>(std::lround(size / s)), 1, width - box.left);
  return box;
}

namespace {
// Applies the inverse map (output cv coords -> input cv coords) with nearest sampling.
void warp_inverse(cv::Mat& image, const cv::Matx23d& inverse) {
  cv::Mat out;
  cv::warpAffine(image, out, cv::Mat(inverse), image.size(), cv::INTER_NEAREST | cv::WARP_INVERSE_MAP,
                 cv::BORDER_CONSTANT, cv::Scalar::all(0));
  image = out;
}
}  // namespace

void rotate(cv::Mat& image, double degrees) {
  // PIL Image.rotate: centre (w/2, h/2) in PIL coordinates = ((w-1)/2, (h-1)/2) in OpenCV's.
  const cv::Point2f centre((image.cols - 1) * 0.5f, (image.rows - 1) * 0.5f);
  const cv::Mat forward = cv::getRotationMatrix2D(centre, degrees, 1.0);
  cv::Mat out;
  cv::warpAffine(image, out, forward, image.size(), cv::INTER_NEAREST, cv::BORDER_CONSTANT,
                 cv::Scalar::all(0));
  image = out;
}

void shear_x(cv::Mat& image, double m) {
  // PIL inverse (1, m, 0, 0, 1, 0) at pixel centres: x_in = x + m * (y + 0.5).
  warp_inverse(image, cv::Matx23d(1, m, 0.5 * m, 0, 1, 0));
}

void shear_y(cv::Mat& image, double m) {
  warp_inverse(image, cv::Matx23d(1, 0, 0, m, 1, 0.5 * m));
}

void translate(cv::Mat& image, int dx, int dy) {
  warp_inverse(image, cv::Matx23d(1, 0, -dx, 0, 1, -dy));
}

}  // namespace wildreid::data::geometry
