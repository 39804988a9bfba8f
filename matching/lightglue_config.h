// LightGlue's configuration as kornia 0.9 defines it (default_conf and the per-feature table):
// widths, depth, heads, whether keypoint scale and orientation join the positional encoding
// (SIFT), and the adaptive knobs. Defaults are kornia's; the matching pipeline applies
// wildlife-tools' choices (adaptive depth and width off, filter 0.1) through its own options.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace wildreid::matching {

struct LightGlueOptions {
  std::string features = "aliked";  // feature type the weights were trained for
  int64_t input_dim = 128;          // descriptor width of the extractor
  int64_t descriptor_dim = 256;
  int64_t n_layers = 9;
  int64_t num_heads = 4;
  bool add_scale_ori = false;       // SIFT: (x, y, scale, orientation) into the encoding
  double scale_coef = 1.0;
  double depth_confidence = 0.95;   // adaptive depth (early exit); <= 0 disables
  double width_confidence = 0.99;   // adaptive width (point pruning); <= 0 disables
  double filter_threshold = 0.1;    // a match needs a mutual best score above this
  // Pruning runs on an image while it has more points than this (kornia: -1 on CPU, 1024 on CUDA).
  int64_t pruning_min_keypoints_cpu = -1;
  int64_t pruning_min_keypoints_cuda = 1024;
};

// kornia's table for `features` (aliked, sift, superpoint, disk); throws std::invalid_argument
// listing the supported names otherwise.
LightGlueOptions lightglue_options_for(const std::string& features);
std::vector<std::string> lightglue_feature_types();

// kornia's per-layer exit threshold: clamp(0.8 + 0.1 exp(-4 i / n_layers), 0, 1).
double lightglue_confidence_threshold(int64_t layer, int64_t n_layers);

}  // namespace wildreid::matching
