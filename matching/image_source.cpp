// See image_source.h.
#include "matching/image_source.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <span>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "data/image_decode.h"
#include "data/shard_reader.h"

namespace wildreid::matching {

cv::Mat decode_for_size(const uint8_t* data, size_t size, int64_t long_side, const std::string& what) {
  if (size == 0) throw std::runtime_error("image " + what + " is empty (0 bytes)");
  const std::span<const uint8_t> bytes(data, size);
  try {
    if (auto dims = data::jpeg_size(bytes)) {
      int factor = 1;
      if (long_side > 0) {
        const double scale = static_cast<double>(long_side) / std::max(dims->width, dims->height);
        factor = data::reduction_factor(dims->width, dims->height, static_cast<int>(dims->width * scale),
                                        static_cast<int>(dims->height * scale));
      }
      return data::decode_bgr(bytes, factor);
    }
    cv::Mat encoded(1, static_cast<int>(size), CV_8U, const_cast<uint8_t*>(data));
    cv::Mat image = cv::imdecode(encoded, cv::IMREAD_COLOR);
    if (image.empty()) throw std::runtime_error("not a decodable image");
    return image;
  } catch (const std::exception& e) {
    throw std::runtime_error("image " + what + ": " + e.what());
  }
}

cv::Mat resize_long_side(const cv::Mat& image, int64_t long_side) {
  const int longer = std::max(image.cols, image.rows);
  if (long_side <= 0 || longer == long_side || image.empty()) return image;
  const double scale = static_cast<double>(long_side) / longer;
  const cv::Size size(std::max(1, static_cast<int>(std::lround(image.cols * scale))),
                      std::max(1, static_cast<int>(std::lround(image.rows * scale))));
  cv::Mat out;
  cv::resize(image, out, size, 0, 0, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}

namespace {

class ShardImageSource : public ImageSource {
 public:
  explicit ShardImageSource(const std::filesystem::path& dir) : shards_(data::ShardSet::open(dir)), dir_(dir) {
    for (size_t i = 0; i < shards_->size(); ++i) index_.emplace(shards_->info(i).image_id, i);
  }
  cv::Mat load(const std::string& image_id, int64_t long_side) const override {
    auto it = index_.find(image_id);
    if (it == index_.end())
      throw std::runtime_error("image_id '" + image_id + "' is not in the shard set " + dir_.string());
    const std::vector<uint8_t> bytes = shards_->read_bytes(it->second);
    return decode_for_size(bytes.data(), bytes.size(), long_side,
                           "'" + image_id + "' (" + shards_->shard_path(it->second).string() + ")");
  }
  bool contains(const std::string& image_id) const override { return index_.count(image_id) > 0; }

 private:
  std::shared_ptr<data::ShardSet> shards_;
  std::filesystem::path dir_;
  std::unordered_map<std::string, size_t> index_;
};

class FileImageSource : public ImageSource {
 public:
  cv::Mat load(const std::string& path, int64_t long_side) const override {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open image file '" + path + "'");
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return decode_for_size(bytes.data(), bytes.size(), long_side, "'" + path + "'");
  }
  bool contains(const std::string& path) const override { return std::filesystem::is_regular_file(path); }
};

}  // namespace

std::shared_ptr<ImageSource> shard_image_source(const std::filesystem::path& shards) {
  return std::make_shared<ShardImageSource>(shards);
}

std::shared_ptr<ImageSource> file_image_source() { return std::make_shared<FileImageSource>(); }

}  // namespace wildreid::matching
