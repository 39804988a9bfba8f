// See pipeline_options.h.
#include "matching/pipeline_options.h"

#include <stdexcept>

namespace wildreid::matching {
namespace {

double to_double(const std::string& key, const std::string& value, const std::string& where) {
  try {
    size_t used = 0;
    const double v = std::stod(value, &used);
    if (used == value.size()) return v;
  } catch (const std::exception&) {
  }
  throw std::invalid_argument(where + ": option '" + key + "' must be a number, got '" + value + "'");
}

int64_t to_int(const std::string& key, const std::string& value, const std::string& where) {
  try {
    size_t used = 0;
    const long long v = std::stoll(value, &used);
    if (used == value.size()) return v;
  } catch (const std::exception&) {
  }
  throw std::invalid_argument(where + ": option '" + key + "' must be an integer, got '" + value + "'");
}

bool to_bool(const std::string& key, const std::string& value, const std::string& where) {
  if (value == "true" || value == "1" || value == "yes" || value == "on") return true;
  if (value == "false" || value == "0" || value == "no" || value == "off") return false;
  throw std::invalid_argument(where + ": option '" + key + "' must be true or false, got '" + value + "'");
}

}  // namespace

const std::vector<std::pair<std::string, std::string>>& pipeline_option_help() {
  static const std::vector<std::pair<std::string, std::string>> help = {
      {"extractor", "sift (default), aliked (= aliked-n16), aliked-t16, aliked-n16, aliked-n16rot, aliked-n32"},
      {"matcher", "ratio (mutual nearest neighbour + Lowe ratio, default) or lightglue"},
      {"max_keypoints", "keypoints per image (default 256; -1: no cap)"},
      {"size", "resize images so the longer side has this many pixels (default 512; 0: keep)"},
      {"threshold", "a match counts towards the pair score above this confidence (LightGlue default 0.5; ratio "
                    "default 0.2, i.e. Lowe's ratio 0.8)"},
      {"detection_threshold", "ALIKED: > 0 selects threshold mode (default 0: top-k); SIFT: contrast threshold "
                              "(0: OpenCV's 0.04)"},
      {"rootsift", "SIFT: RootSIFT descriptors (default true)"},
      {"weights", "ALIKED weights (.pth as published, or .safetensors)"},
      {"lightglue_weights", "LightGlue weights for the extractor's feature type (.pth or .safetensors)"},
      {"adaptive", "LightGlue adaptive depth and width (default false, as wildlife-tools)"},
      {"filter_threshold", "LightGlue match filter (default 0.1)"},
      {"ransac", "score by fundamental-matrix inliers (OpenCV USAC MAGSAC) instead of the match count (default false)"},
      {"batch_pairs", "pairs per LightGlue batch (default 16 on CPU, 64 on GPU)"},
      {"threads", "CPU worker threads (default: LibTorch's intra-op thread count)"},
      {"memory_mb", "features kept in memory over the on-disk cache (default 2048)"},
      {"device", "cpu (default), cuda, cuda:N"},
  };
  return help;
}

LocalPipelineOptions parse_pipeline_options(const std::map<std::string, std::string>& options,
                                            const std::string& where) {
  LocalPipelineOptions o;
  bool threshold_set = false;
  for (const auto& [key, value] : options) {
    if (key == "extractor") o.extractor.type = value;
    else if (key == "matcher") o.matcher = value;
    else if (key == "max_keypoints") o.extractor.max_keypoints = to_int(key, value, where);
    else if (key == "size") o.extractor.size = to_int(key, value, where);
    else if (key == "threshold") o.score.threshold = to_double(key, value, where), threshold_set = true;
    else if (key == "detection_threshold") o.extractor.detection_threshold = to_double(key, value, where);
    else if (key == "rootsift") o.extractor.rootsift = to_bool(key, value, where);
    else if (key == "weights") o.extractor.weights = value;
    else if (key == "lightglue_weights") o.lightglue_weights = value;
    else if (key == "adaptive") o.adaptive = to_bool(key, value, where);
    else if (key == "filter_threshold") o.filter_threshold = to_double(key, value, where);
    else if (key == "ransac") o.score.ransac = to_bool(key, value, where);
    else if (key == "batch_pairs") o.batch_pairs = to_int(key, value, where);
    else if (key == "threads") o.threads = static_cast<int>(to_int(key, value, where));
    else if (key == "memory_mb") o.memory_mb = to_int(key, value, where);
    else if (key == "device") o.extractor.device = value;
    else {
      std::string known;
      for (const auto& [k, h] : pipeline_option_help()) known += (known.empty() ? "" : ", ") + k;
      throw std::invalid_argument(where + ": unknown option '" + key + "' (known: " + known + ")");
    }
  }
  if (o.extractor.type == "aliked") o.extractor.type = "aliked-n16";
  if (!threshold_set) o.score.threshold = o.matcher == "lightglue" ? 0.5 : 0.2;
  validate(o, where);
  return o;
}

void validate(const LocalPipelineOptions& o, const std::string& where) {
  try {
    validate(o.extractor);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(where + ": " + e.what());
  }
  if (o.matcher != "ratio" && o.matcher != "lightglue")
    throw std::invalid_argument(where + ": matcher '" + o.matcher + "' is not known (ratio, lightglue)");
  if (o.matcher == "lightglue" && o.lightglue_weights.empty())
    throw std::invalid_argument(where + ": matcher lightglue needs lightglue_weights (e.g. the published "
                                "aliked_lightglue.pth)");
  if (o.batch_pairs < 0 || o.threads < 0 || o.memory_mb <= 0)
    throw std::invalid_argument(where + ": batch_pairs and threads must be >= 0 and memory_mb > 0");
}

}  // namespace wildreid::matching
