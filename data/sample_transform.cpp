// See sample_transform.h. The crop box is computed in full-resolution source pixels from the
// JPEG header; the reduced decode is then chosen so the box still holds at least size x size
// pixels, and the box is mapped onto the reduced image by its true scale (libjpeg rounds the
// reduced size up), keeping the geometry within half a reduced pixel of a full decode. JPEGs
// decode only the crop's rows and columns (jpeg_region_decode.h); anything else falls back to
// a whole-image OpenCV decode.
#include "data/sample_transform.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>

#include "data/auto_augment.h"
#include "data/geometry_ops.h"
#include "data/image_decode.h"
#include "data/jpeg_region_decode.h"
#include "data/pixel_ops.h"

namespace wildreid::data {
namespace {

// Bilinear resize of a crop to size x size. Below 2x shrink (always the case after a reduced
// decode) bilinear samples every source pixel, so it needs no antialiasing; beyond 2x,
// INTER_AREA averages the whole footprint like PIL's antialiased bilinear (but is slower).
cv::Mat resize_to(const cv::Mat& roi, int size) {
  cv::Mat out;
  const bool large_shrink = roi.cols >= 2 * size || roi.rows >= 2 * size;
  cv::resize(roi, out, cv::Size(size, size), 0, 0, large_shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}

// Decodes the smallest image that still covers `box` with `size` pixels, crops and resizes.
cv::Mat decode_crop_resize(std::span<const uint8_t> jpeg, const TransformOptions& o,
                           const cv::Size& full, const geometry::CropBox& box) {
  const int size = static_cast<int>(o.size);
  const int factor = o.reduced_decode ? reduction_factor(box.width, box.height, size, size) : 1;
  if (o.region_decode) {
    if (auto region = decode_jpeg_region(jpeg, factor, cv::Rect(box.left, box.top, box.width, box.height)))
      return resize_to(*region, size);
  }
  const cv::Mat decoded = decode_bgr(jpeg, factor);
  const double sx = static_cast<double>(decoded.cols) / full.width;
  const double sy = static_cast<double>(decoded.rows) / full.height;
  int left = static_cast<int>(std::lround(box.left * sx));
  int top = static_cast<int>(std::lround(box.top * sy));
  left = std::clamp(left, 0, decoded.cols - 1);
  top = std::clamp(top, 0, decoded.rows - 1);
  const int width = std::clamp(static_cast<int>(std::lround(box.width * sx)), 1, decoded.cols - left);
  const int height = std::clamp(static_cast<int>(std::lround(box.height * sy)), 1, decoded.rows - top);
  return resize_to(decoded(cv::Rect(left, top, width, height)), size);
}

cv::Size source_size(std::span<const uint8_t> jpeg, cv::Mat& fallback) {
  if (auto s = jpeg_size(jpeg)) return *s;
  fallback = decode_bgr(jpeg, 1);  // not a JPEG header we can read: decode fully once
  return fallback.size();
}

void color_jitter(cv::Mat& img, const TransformOptions& o, SampleRng& rng) {
  // torchvision ColorJitter.get_params: a random order, then each factor.
  std::array<int, 4> order{0, 1, 2, 3};
  for (int i = 3; i > 0; --i) std::swap(order[i], order[rng.randint(0, i + 1)]);
  auto factor = [&](double v) { return rng.uniform(std::max(0.0, 1.0 - v), 1.0 + v); };
  const double b = o.brightness > 0 ? factor(o.brightness) : 1.0;
  const double c = o.contrast > 0 ? factor(o.contrast) : 1.0;
  const double s = o.saturation > 0 ? factor(o.saturation) : 1.0;
  const double h = o.hue > 0 ? rng.uniform(-o.hue, o.hue) : 0.0;
  for (int op : order) {
    if (op == 0 && o.brightness > 0) pixel::adjust_brightness(img, b);
    if (op == 1 && o.contrast > 0) pixel::adjust_contrast(img, c);
    if (op == 2 && o.saturation > 0) pixel::adjust_saturation(img, s);
    if (op == 3 && o.hue > 0) pixel::adjust_hue(img, h);
  }
}

}  // namespace

size_t output_image_bytes(const TransformOptions& o) {
  const size_t elems = 3 * static_cast<size_t>(o.size) * static_cast<size_t>(o.size);
  return elems * (o.output == OutputFormat::kUint8 ? 1 : sizeof(float));
}

cv::Mat augment_image(std::span<const uint8_t> jpeg, const TransformOptions& o, SampleRng& rng) {
  if (o.size <= 0) throw std::invalid_argument("transform: output size must be positive");
  cv::Mat full;
  const cv::Size src = source_size(jpeg, full);
  geometry::CropBox box;
  if (o.train) {
    box = geometry::random_resized_crop_box(src.height, src.width, o.crop_scale, o.crop_ratio, rng);
  } else if (o.eval_squash) {
    box = {0, 0, src.height, src.width};
  } else {
    const int64_t resize_to = o.eval_crop_pct >= 1.0
                                  ? o.size
                                  : static_cast<int64_t>(std::floor(o.size / o.eval_crop_pct));
    box = geometry::resize_center_crop_box(src.height, src.width, resize_to, o.size);
  }
  cv::Mat img;
  if (!full.empty()) {
    img = resize_to(full(cv::Rect(box.left, box.top, box.width, box.height)), static_cast<int>(o.size));
  } else {
    img = decode_crop_resize(jpeg, o, src, box);
  }
  if (!o.train) return img;
  if (o.hflip_p > 0 && rng.bernoulli(o.hflip_p)) cv::flip(img, img, 1);
  if (o.rotation_degrees > 0) geometry::rotate(img, rng.uniform(-o.rotation_degrees, o.rotation_degrees));
  if (o.brightness > 0 || o.contrast > 0 || o.saturation > 0 || o.hue > 0) color_jitter(img, o, rng);
  if (o.auto_augment) auto_augment_imagenet(img, rng);
  return img;
}

void write_chw(const cv::Mat& bgr, const TransformOptions& o, void* out) {
  if (bgr.type() != CV_8UC3 || bgr.rows != o.size || bgr.cols != o.size)
    throw std::invalid_argument("write_chw: image is not size x size 8-bit BGR");
  const size_t plane = static_cast<size_t>(bgr.rows) * static_cast<size_t>(bgr.cols);
  if (o.output == OutputFormat::kUint8) {
    auto* base = static_cast<uint8_t*>(out);
    cv::Mat planes[3] = {cv::Mat(bgr.size(), CV_8U, base + 2 * plane),   // B -> channel 2
                         cv::Mat(bgr.size(), CV_8U, base + plane),       // G -> channel 1
                         cv::Mat(bgr.size(), CV_8U, base)};              // R -> channel 0
    cv::split(bgr, planes);  // writes into the wrapped output planes
    return;
  }
  cv::Mat planes[3];
  cv::split(bgr, planes);
  auto* base = static_cast<float*>(out);
  for (int c = 0; c < 3; ++c) {  // RGB channel c comes from BGR plane 2 - c
    cv::Mat dst(bgr.size(), CV_32F, base + static_cast<size_t>(c) * plane);
    planes[2 - c].convertTo(dst, CV_32F, 1.0 / (255.0 * o.std[c]), -o.mean[c] / o.std[c]);
  }
}

void random_erase(const TransformOptions& o, SampleRng& rng, void* out) {
  if (!o.train || o.erasing_p <= 0 || !rng.bernoulli(o.erasing_p)) return;
  const int64_t side = o.size, area = side * side;
  const double log_lo = std::log(o.erasing_ratio[0]), log_hi = std::log(o.erasing_ratio[1]);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double erase_area = area * rng.uniform(o.erasing_scale[0], o.erasing_scale[1]);
    const double aspect = std::exp(rng.uniform(log_lo, log_hi));
    const int64_t h = std::llround(std::sqrt(erase_area * aspect));
    const int64_t w = std::llround(std::sqrt(erase_area / aspect));
    if (!(h < side && w < side)) continue;
    const int64_t top = rng.randint(0, side - h + 1), left = rng.randint(0, side - w + 1);
    for (int c = 0; c < 3; ++c) {
      for (int64_t y = top; y < top + h; ++y) {
        const int64_t at = c * area + y * side + left;
        if (o.output == OutputFormat::kUint8) {
          // The pixel value that normalises to erasing_value on the GPU.
          const double v = (o.mean[c] + o.erasing_value * o.std[c]) * 255.0;
          const uint8_t fill = static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
          std::fill_n(static_cast<uint8_t*>(out) + at, w, fill);
        } else {
          std::fill_n(static_cast<float*>(out) + at, w, static_cast<float>(o.erasing_value));
        }
      }
    }
    return;
  }
}

void transform_sample(std::span<const uint8_t> jpeg, const TransformOptions& o, SampleRng& rng,
                      void* out) {
  write_chw(augment_image(jpeg, o, rng), o, out);
  random_erase(o, rng, out);
}

}  // namespace wildreid::data
