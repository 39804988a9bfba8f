// See lightglue_config.h. Values from kornia/feature/lightglue.py (kornia 0.9.0).
#include "matching/lightglue_config.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace wildreid::matching {

std::vector<std::string> lightglue_feature_types() { return {"aliked", "sift", "superpoint", "disk"}; }

LightGlueOptions lightglue_options_for(const std::string& features) {
  LightGlueOptions o;
  o.features = features;
  if (features == "aliked" || features == "disk") {
    o.input_dim = 128;
  } else if (features == "sift") {
    o.input_dim = 128;
    o.add_scale_ori = true;
  } else if (features == "superpoint") {
    o.input_dim = 256;
  } else {
    std::string known;
    for (const auto& f : lightglue_feature_types()) known += (known.empty() ? "" : ", ") + f;
    throw std::invalid_argument("LightGlue has no configuration for features '" + features + "' (supported: " +
                                known + ")");
  }
  return o;
}

double lightglue_confidence_threshold(int64_t layer, int64_t n_layers) {
  const double t = 0.8 + 0.1 * std::exp(-4.0 * static_cast<double>(layer) / static_cast<double>(n_layers));
  return std::clamp(t, 0.0, 1.0);
}

}  // namespace wildreid::matching
