// See image_decode.h. The SOF scan walks marker segments by their length fields only, so a
// truncated or hostile header yields nullopt (then a full decode), never an out-of-range read.
#include "data/image_decode.h"

#include <opencv2/imgcodecs.hpp>

namespace wildreid::data {

std::optional<cv::Size> jpeg_size(std::span<const uint8_t> b) {
  if (b.size() < 4 || b[0] != 0xFF || b[1] != 0xD8) return std::nullopt;
  size_t i = 2;
  while (i + 4 <= b.size()) {
    if (b[i] != 0xFF) return std::nullopt;
    const uint8_t marker = b[i + 1];
    if (marker == 0xFF) { ++i; continue; }              // fill byte
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) { i += 2; continue; }
    const size_t length = (static_cast<size_t>(b[i + 2]) << 8) | b[i + 3];
    if (length < 2) return std::nullopt;
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
                     marker != 0xCC;
    if (sof) {
      if (i + 9 > b.size()) return std::nullopt;
      const int height = (b[i + 5] << 8) | b[i + 6];
      const int width = (b[i + 7] << 8) | b[i + 8];
      if (height <= 0 || width <= 0) return std::nullopt;
      return cv::Size(width, height);
    }
    if (marker == 0xDA || marker == 0xD9) return std::nullopt;  // scan before any SOF
    i += 2 + length;
  }
  return std::nullopt;
}

int reduction_factor(int crop_width, int crop_height, int out_width, int out_height) {
  for (int f : {8, 4, 2})
    if (crop_width / f >= out_width && crop_height / f >= out_height) return f;
  return 1;
}

cv::Mat decode_bgr(std::span<const uint8_t> bytes, int factor) {
  int flags = cv::IMREAD_COLOR;
  if (factor == 2) flags = cv::IMREAD_REDUCED_COLOR_2;
  else if (factor == 4) flags = cv::IMREAD_REDUCED_COLOR_4;
  else if (factor == 8) flags = cv::IMREAD_REDUCED_COLOR_8;
  else if (factor != 1) throw std::invalid_argument("decode: reduction factor must be 1, 2, 4 or 8");
  flags |= cv::IMREAD_IGNORE_ORIENTATION;
  if (bytes.empty()) throw DecodeError("empty image bytes");
  const cv::Mat wrapped(1, static_cast<int>(bytes.size()), CV_8U, const_cast<uint8_t*>(bytes.data()));
  cv::Mat image;
  try {
    image = cv::imdecode(wrapped, flags);
  } catch (const cv::Exception& e) {
    throw DecodeError(std::string("image decode failed: ") + e.what());
  }
  if (image.empty()) throw DecodeError("image bytes are not a decodable image (" +
                                       std::to_string(bytes.size()) + " bytes)");
  if (image.type() != CV_8UC3) throw DecodeError("decoded image is not 8-bit colour");
  return image;
}

}  // namespace wildreid::data
