// Decodes only the part of a JPEG a crop needs, at 1/1, 1/2, 1/4 or 1/8 scale, with
// libjpeg-turbo directly: jpeg_skip_scanlines skips the rows above the crop (entropy decoding
// only, no IDCT or colour conversion), jpeg_crop_scanline limits the IDCT and colour conversion
// to the crop's columns, and decoding stops after the crop's last row. Output is BGR straight
// from the decoder (JCS_EXT_BGR). For RandomResizedCrop, whose crop averages about half the
// image, this does roughly half the pixel work of decoding the whole image and cropping.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <opencv2/core.hpp>

namespace wildreid::data {

// `region` is in full-resolution pixels. Returns the region decoded at 1/factor scale (its
// size is the region scaled and rounded, clamped to the scaled image), or nullopt when libjpeg
// cannot decode these bytes this way (not a JPEG, CMYK, corrupt): callers then fall back to
// decode_bgr, which reports the error.
std::optional<cv::Mat> decode_jpeg_region(std::span<const uint8_t> jpeg, int factor,
                                          const cv::Rect& region);

}  // namespace wildreid::data
