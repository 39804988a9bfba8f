// See jpeg_region_decode.h. libjpeg reports fatal errors through error_exit, whose default
// calls exit(); ours longjmps back here instead. Only trivially destructible state lives
// between setjmp and a possible longjmp (the output cv::Mat is created before setjmp).
#include "data/jpeg_region_decode.h"

#include <csetjmp>
#include <cstdio>

#include <jpeglib.h>

#include <algorithm>
#include <cmath>

namespace wildreid::data {
namespace {

struct ErrorManager {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  bool warned = false;
};

void on_error(j_common_ptr info) { std::longjmp(reinterpret_cast<ErrorManager*>(info->err)->jump, 1); }
// A warning (corrupt data, premature end) means libjpeg would invent pixels: give up and let
// the OpenCV path decide, so both paths treat damaged bytes alike.
void on_message(j_common_ptr info, int level) {
  if (level < 0) reinterpret_cast<ErrorManager*>(info->err)->warned = true;
}

// The decoding steps; returns false on a libjpeg error. `rows` receives the decoded rows
// (iMCU-aligned columns) and `inside` the region within them.
bool decode(jpeg_decompress_struct& info, ErrorManager& errors, std::span<const uint8_t> jpeg,
            int factor, const cv::Rect& region, cv::Mat& rows, cv::Rect& inside) {
  if (setjmp(errors.jump)) return false;
  jpeg_mem_src(&info, jpeg.data(), static_cast<unsigned long>(jpeg.size()));
  if (jpeg_read_header(&info, TRUE) != JPEG_HEADER_OK) return false;
  if (info.jpeg_color_space != JCS_YCbCr && info.jpeg_color_space != JCS_GRAYSCALE) return false;
  info.scale_num = 1;
  info.scale_denom = static_cast<unsigned>(factor);
  info.out_color_space = JCS_EXT_BGR;
  jpeg_start_decompress(&info);
  const double sx = static_cast<double>(info.output_width) / info.image_width;
  const double sy = static_cast<double>(info.output_height) / info.image_height;
  const int out_w = static_cast<int>(info.output_width), out_h = static_cast<int>(info.output_height);
  const int left = std::clamp(static_cast<int>(std::lround(region.x * sx)), 0, out_w - 1);
  const int top = std::clamp(static_cast<int>(std::lround(region.y * sy)), 0, out_h - 1);
  const int width = std::clamp(static_cast<int>(std::lround(region.width * sx)), 1, out_w - left);
  const int height = std::clamp(static_cast<int>(std::lround(region.height * sy)), 1, out_h - top);
  JDIMENSION x0 = static_cast<JDIMENSION>(left), w = static_cast<JDIMENSION>(width);
  jpeg_crop_scanline(&info, &x0, &w);  // widens to iMCU boundaries
  if (top > 0 && jpeg_skip_scanlines(&info, static_cast<JDIMENSION>(top)) != static_cast<JDIMENSION>(top))
    return false;
  rows.create(height, static_cast<int>(info.output_width), CV_8UC3);
  for (int y = 0; y < height;) {
    JSAMPROW row = rows.ptr<uint8_t>(y);
    const JDIMENSION got = jpeg_read_scanlines(&info, &row, 1);
    if (got != 1) return false;
    y += 1;
  }
  inside = cv::Rect(left - static_cast<int>(x0), 0, width, height);
  return true;
}

}  // namespace

std::optional<cv::Mat> decode_jpeg_region(std::span<const uint8_t> jpeg, int factor,
                                          const cv::Rect& region) {
  if (jpeg.size() < 4 || region.width <= 0 || region.height <= 0) return std::nullopt;
  if (factor != 1 && factor != 2 && factor != 4 && factor != 8) return std::nullopt;
  jpeg_decompress_struct info{};
  ErrorManager errors{};
  info.err = jpeg_std_error(&errors.base);
  errors.base.error_exit = on_error;
  errors.base.emit_message = on_message;
  jpeg_create_decompress(&info);
  cv::Mat rows;
  cv::Rect inside;
  const bool ok = decode(info, errors, jpeg, factor, region, rows, inside);
  jpeg_destroy_decompress(&info);  // also abandons an unfinished decompression
  if (!ok || errors.warned) return std::nullopt;
  return rows(inside);
}

}  // namespace wildreid::data
