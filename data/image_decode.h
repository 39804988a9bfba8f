// JPEG decoding for the input pipeline. The size is read from the JPEG header first (no pixel
// work), so the crop can be chosen before decoding and the decoder asked for 1/2, 1/4 or 1/8
// resolution (libjpeg-turbo's scaled IDCT via cv::IMREAD_REDUCED_COLOR_*) whenever the crop
// still covers the output size. EXIF orientation is ignored, like PIL's Image.open.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <opencv2/core.hpp>

namespace wildreid::data {

// The bytes could not be decoded into an image.
struct DecodeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// (height, width) from the JPEG SOF marker; nullopt when the bytes are not a parseable JPEG.
std::optional<cv::Size> jpeg_size(std::span<const uint8_t> bytes);

// Largest factor in {8, 4, 2, 1} with crop_w / f >= out_w and crop_h / f >= out_h.
int reduction_factor(int crop_width, int crop_height, int out_width, int out_height);

// Decodes to 8-bit BGR at 1/factor of the full size (factor 1, 2, 4 or 8); throws DecodeError.
cv::Mat decode_bgr(std::span<const uint8_t> bytes, int factor = 1);

}  // namespace wildreid::data
