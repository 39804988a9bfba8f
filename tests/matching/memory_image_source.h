// An ImageSource over images held in memory (tests build photos with OpenCV and data's synth
// renderer instead of packing shards).
#pragma once
#include <map>
#include <stdexcept>
#include <string>

#include "matching/image_source.h"

namespace wildreid::testing {

class MemoryImageSource : public matching::ImageSource {
 public:
  void add(const std::string& id, const cv::Mat& bgr) { images_[id] = bgr; }
  cv::Mat load(const std::string& id, int64_t) const override {
    auto it = images_.find(id);
    if (it == images_.end()) throw std::runtime_error("no image '" + id + "'");
    return it->second;
  }
  bool contains(const std::string& id) const override { return images_.count(id) > 0; }

 private:
  std::map<std::string, cv::Mat> images_;
};

}  // namespace wildreid::testing
