// See pixel_ops.h. Per-pixel blends go through 256-entry lookup tables where the degenerate
// image is constant, and through plain loops (vectorised by the compiler) where it is not.
#include "data/pixel_ops.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>

namespace wildreid::data::pixel {
namespace {

// PIL ImagingBlend: degenerate + f * (image - degenerate), truncated toward zero, clipped.
inline uint8_t blend(int degenerate, int value, float f) {
  const float t = static_cast<float>(degenerate) + f * static_cast<float>(value - degenerate);
  if (t <= 0.f) return 0;
  if (t >= 255.f) return 255;
  return static_cast<uint8_t>(t);
}

// image = degenerate + f * (image - degenerate) per element with OpenCV's SIMD addWeighted;
// the -0.4999 offset turns its round-to-nearest into PIL's truncation (exact except when the
// fractional part is >= 0.9999).
void blend_images(const cv::Mat& degenerate, cv::Mat& image, double f) {
  cv::addWeighted(image, f, degenerate, 1.0 - f, -0.4999, image);
}

void apply_lut(cv::Mat& bgr, const std::array<uint8_t, 256>& table) {
  cv::Mat lut(1, 256, CV_8U, const_cast<uint8_t*>(table.data()));
  cv::LUT(bgr, lut, bgr);
}

void apply_channel_luts(cv::Mat& bgr, const std::array<std::array<uint8_t, 256>, 3>& t) {
  cv::Mat lut(1, 256, CV_8UC3);
  for (int i = 0; i < 256; ++i)
    lut.at<cv::Vec3b>(0, i) = cv::Vec3b(t[0][i], t[1][i], t[2][i]);
  cv::LUT(bgr, lut, bgr);
}

}  // namespace

void adjust_brightness(cv::Mat& bgr, double factor) {
  std::array<uint8_t, 256> t;
  for (int i = 0; i < 256; ++i) t[i] = blend(0, i, static_cast<float>(factor));
  apply_lut(bgr, t);
}

void adjust_contrast(cv::Mat& bgr, double factor) {
  cv::Mat grey_image;
  cv::cvtColor(bgr, grey_image, cv::COLOR_BGR2GRAY);  // SIMD; within 1 level of PIL's "L"
  const int mean = static_cast<int>(cv::mean(grey_image)[0] + 0.5);
  std::array<uint8_t, 256> t;
  for (int i = 0; i < 256; ++i) t[i] = blend(mean, i, static_cast<float>(factor));
  apply_lut(bgr, t);
}

void adjust_saturation(cv::Mat& bgr, double factor) {
  cv::Mat grey_image, grey3;
  cv::cvtColor(bgr, grey_image, cv::COLOR_BGR2GRAY);
  cv::cvtColor(grey_image, grey3, cv::COLOR_GRAY2BGR);
  blend_images(grey3, bgr, factor);
}

void adjust_hue(cv::Mat& bgr, double hue_factor) {
  // PIL path of torchvision: HSV with H in 0..255, h += factor * 255 (uint8 wrap-around).
  const int shift = static_cast<int>(std::lround(hue_factor * 255.0));
  if (shift == 0) return;
  cv::Mat hsv;
  cv::cvtColor(bgr, hsv, cv::COLOR_BGR2HSV_FULL);
  for (int y = 0; y < hsv.rows; ++y) {
    uint8_t* row = hsv.ptr<uint8_t>(y);
    for (int x = 0; x < hsv.cols; ++x) row[3 * x] = static_cast<uint8_t>(row[3 * x] + shift);
  }
  cv::cvtColor(hsv, bgr, cv::COLOR_HSV2BGR_FULL);
}

void adjust_sharpness(cv::Mat& bgr, double factor) {
  if (bgr.rows < 3 || bgr.cols < 3) return;
  cv::Mat smooth;
  const cv::Mat kernel = (cv::Mat_<float>(3, 3) << 1, 1, 1, 1, 5, 1, 1, 1, 1) / 13.0f;
  cv::filter2D(bgr, smooth, -1, kernel, cv::Point(-1, -1), 0, cv::BORDER_REPLICATE);
  // PIL keeps the one-pixel border unfiltered: blend only the interior.
  cv::Mat inner = bgr(cv::Rect(1, 1, bgr.cols - 2, bgr.rows - 2));
  blend_images(smooth(cv::Rect(1, 1, bgr.cols - 2, bgr.rows - 2)), inner, factor);
}

void posterize(cv::Mat& bgr, int bits) {
  const uint8_t mask = static_cast<uint8_t>(~((1 << (8 - std::clamp(bits, 0, 8))) - 1));
  std::array<uint8_t, 256> t;
  for (int i = 0; i < 256; ++i) t[i] = static_cast<uint8_t>(i & mask);
  apply_lut(bgr, t);
}

void solarize(cv::Mat& bgr, double threshold) {
  std::array<uint8_t, 256> t;
  for (int i = 0; i < 256; ++i) t[i] = static_cast<uint8_t>(i < threshold ? i : 255 - i);
  apply_lut(bgr, t);
}

void invert(cv::Mat& bgr) { cv::bitwise_not(bgr, bgr); }

void equalize(cv::Mat& bgr) {
  std::array<std::array<int64_t, 256>, 3> hist{};
  for (int y = 0; y < bgr.rows; ++y) {
    const uint8_t* row = bgr.ptr<uint8_t>(y);
    for (int x = 0; x < bgr.cols; ++x)
      for (int c = 0; c < 3; ++c) ++hist[c][row[3 * x + c]];
  }
  std::array<std::array<uint8_t, 256>, 3> luts;
  for (int c = 0; c < 3; ++c) {
    auto& lut = luts[c];
    for (int i = 0; i < 256; ++i) lut[i] = static_cast<uint8_t>(i);
    int64_t total = 0, last = 0, nonzero = 0;
    for (int i = 0; i < 256; ++i)
      if (hist[c][i]) { total += hist[c][i]; last = hist[c][i]; ++nonzero; }
    if (nonzero <= 1) continue;
    const int64_t step = (total - last) / 255;
    if (step == 0) continue;
    int64_t n = step / 2;
    for (int i = 0; i < 256; ++i) {
      lut[i] = static_cast<uint8_t>(std::min<int64_t>(n / step, 255));
      n += hist[c][i];
    }
  }
  apply_channel_luts(bgr, luts);
}

void autocontrast(cv::Mat& bgr) {
  std::array<std::array<uint8_t, 256>, 3> luts;
  std::vector<cv::Mat> planes;
  cv::split(bgr, planes);
  for (int c = 0; c < 3; ++c) {
    double lo = 0, hi = 0;
    cv::minMaxLoc(planes[c], &lo, &hi);
    auto& lut = luts[c];
    if (hi <= lo) {
      for (int i = 0; i < 256; ++i) lut[i] = static_cast<uint8_t>(i);
      continue;
    }
    const double scale = 255.0 / (hi - lo), offset = -lo * scale;
    for (int i = 0; i < 256; ++i)
      lut[i] = static_cast<uint8_t>(std::clamp(static_cast<int>(i * scale + offset), 0, 255));
  }
  apply_channel_luts(bgr, luts);
}

}  // namespace wildreid::data::pixel
