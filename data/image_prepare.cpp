// Validation decodes at 1/8 size when the original is kept (libjpeg-turbo's scaled IDCT still
// walks the whole entropy-coded stream, at a fraction of the cost of a full decode).
#include "data/image_prepare.h"

#include <algorithm>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace wildreid::data {

bool looks_like_jpeg(const std::vector<uint8_t>& b) {
  return b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF;
}

namespace {

bool has_jpeg_end_marker(const std::vector<uint8_t>& b) {
  // EOI (FF D9) must appear near the end; some writers pad a few bytes after it.
  const size_t window = std::min<size_t>(b.size(), 64);
  for (size_t i = b.size() - window; i + 1 < b.size(); ++i)
    if (b[i] == 0xFF && b[i + 1] == 0xD9) return true;
  return false;
}

std::vector<uint8_t> encode_jpeg(const cv::Mat& image, int quality) {
  std::vector<uint8_t> out;
  if (!cv::imencode(".jpg", image, out, {cv::IMWRITE_JPEG_QUALITY, quality}))
    throw BadImage("JPEG encoding failed");
  return out;
}

}  // namespace

std::vector<uint8_t> prepare_image(std::vector<uint8_t> bytes, const ImagePrepareOptions& options) {
  if (bytes.empty()) throw BadImage("empty file");
  const bool jpeg = looks_like_jpeg(bytes);
  if (jpeg && !has_jpeg_end_marker(bytes)) throw BadImage("truncated JPEG (no end-of-image marker)");
  const bool keep = jpeg && options.max_side <= 0;
  cv::Mat image;
  try {
    image = cv::imdecode(bytes, keep ? cv::IMREAD_REDUCED_COLOR_8 : cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    throw BadImage(std::string("cannot decode: ") + e.what());
  }
  if (image.empty() || image.cols <= 0 || image.rows <= 0)
    throw BadImage(jpeg ? "corrupt JPEG (decoder failed)" : "not a decodable image (unknown format or corrupt)");
  if (keep) return bytes;
  const int side = std::max(image.cols, image.rows);
  if (options.max_side > 0 && side > options.max_side) {
    const double scale = static_cast<double>(options.max_side) / side;
    cv::Mat resized;
    cv::resize(image, resized,
               cv::Size(std::max(1, static_cast<int>(image.cols * scale + 0.5)),
                        std::max(1, static_cast<int>(image.rows * scale + 0.5))),
               0, 0, cv::INTER_AREA);
    return encode_jpeg(resized, options.jpeg_quality);
  }
  if (jpeg) return bytes;  // already within the limit
  return encode_jpeg(image, options.jpeg_quality);
}

}  // namespace wildreid::data
