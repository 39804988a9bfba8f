// Where the matching pipeline gets pixels: the run's shard set (images by image_id, the identify
// stage's names) or plain files (`trainer match --image a.jpg`). JPEGs are decoded at 1/2, 1/4 or
// 1/8 scale through libjpeg-turbo whenever that still covers the size the extractor resizes to,
// which makes decoding a 4000-px photo for a 512-px extractor several times cheaper.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <opencv2/core.hpp>

namespace wildreid::matching {

class ImageSource {
 public:
  virtual ~ImageSource() = default;
  // 8-bit BGR; the longer side is at least `long_side` when the image has that many pixels (0:
  // full size). Throws std::runtime_error naming the image when it is unknown or undecodable.
  // Safe to call from several threads.
  virtual cv::Mat load(const std::string& image_id, int64_t long_side) const = 0;
  virtual bool contains(const std::string& image_id) const = 0;
};

// Images of a packed shard set by image_id (data/shard_reader.h).
std::shared_ptr<ImageSource> shard_image_source(const std::filesystem::path& shards);
// image_id = path of an image file (JPEG decoded reduced; any format OpenCV reads otherwise).
std::shared_ptr<ImageSource> file_image_source();

// Decodes encoded bytes (reduced for JPEG as above); throws naming `what`.
cv::Mat decode_for_size(const uint8_t* data, size_t size, int64_t long_side, const std::string& what);

// Resizes so the longer side is `long_side` (0 or equal: unchanged); area filter when shrinking,
// bilinear when enlarging.
cv::Mat resize_long_side(const cv::Mat& image, int64_t long_side);

}  // namespace wildreid::matching
