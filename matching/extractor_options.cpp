// See extractor_options.h. The weights enter the canonical text by file name and size, so new
// weights under the same name still change the key.
#include "matching/extractor_options.h"

#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "matching/aliked_config.h"

namespace wildreid::matching {

bool is_aliked(const ExtractorOptions& o) { return o.type.rfind("aliked", 0) == 0; }

std::string aliked_variant_of(const ExtractorOptions& o) { return o.type == "aliked" ? "aliked-n16" : o.type; }

int64_t descriptor_dim(const ExtractorOptions& o) {
  return is_aliked(o) ? aliked_variant(aliked_variant_of(o)).dim : 128;
}

std::string canonical_text(const ExtractorOptions& o) {
  char threshold[32];
  std::snprintf(threshold, sizeof threshold, "%.9g", o.detection_threshold);
  std::string text = "type=" + (is_aliked(o) ? aliked_variant_of(o) : o.type) +
                     " max_keypoints=" + std::to_string(o.max_keypoints) + " size=" + std::to_string(o.size) +
                     " detection_threshold=" + threshold;
  if (!is_aliked(o)) text += std::string(" rootsift=") + (o.rootsift ? "1" : "0");
  if (is_aliked(o)) {
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(o.weights, ec);
    text += " weights=" + std::filesystem::path(o.weights).filename().string() + ":" +
            std::to_string(ec ? 0 : bytes);
  }
  return text;
}

void validate(const ExtractorOptions& o) {
  if (o.type != "sift" && !is_aliked(o))
    throw std::invalid_argument("extractor '" + o.type + "' is not known (sift, aliked, aliked-t16, aliked-n16, "
                                "aliked-n16rot, aliked-n32)");
  if (is_aliked(o)) {
    aliked_variant(aliked_variant_of(o));  // throws for an unknown variant
    if (o.weights.empty())
      throw std::invalid_argument("extractor '" + o.type + "' needs weights (the published " +
                                  aliked_variant_of(o) + ".pth or a safetensors export)");
  }
  if (o.max_keypoints == 0 || o.max_keypoints < -1)
    throw std::invalid_argument("max_keypoints must be positive (or -1: no cap), got " + std::to_string(o.max_keypoints));
  if (o.size < 0) throw std::invalid_argument("size must be >= 0, got " + std::to_string(o.size));
  if (o.detection_threshold < 0)
    throw std::invalid_argument("detection threshold must be >= 0, got " + std::to_string(o.detection_threshold));
}

}  // namespace wildreid::matching
