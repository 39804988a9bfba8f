// ALIKED as a LocalExtractor: resizes, converts BGR to RGB float in [0, 1] (what the published
// weights expect), runs the network on the configured device, returns CPU features.
#pragma once
#include "matching/aliked.h"
#include "matching/extractor.h"

namespace wildreid::matching {

class AlikedExtractor : public LocalExtractor {
 public:
  explicit AlikedExtractor(const ExtractorOptions& options);
  LocalFeatures extract(const cv::Mat& bgr, const std::string& what) override;
  const ExtractorOptions& options() const override { return options_; }
  bool on_gpu() const override { return !device_.is_cpu(); }

 private:
  ExtractorOptions options_;
  at::Device device_;
  Aliked model_{nullptr};
};

}  // namespace wildreid::matching
