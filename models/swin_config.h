// Swin Transformer hyper-parameters, in timm's terms (timm/models/swin_transformer.py). One plain
// struct so the registry, the tests and the fixtures describe a Swin the same way; the class count,
// stochastic depth and checkpointing come from ModelOptions like every other family.
#pragma once
#include <cstdint>
#include <vector>

namespace wildreid::models {

struct SwinConfig {
  int64_t img_size = 224;           // square input side; timm's strict_img_size: inputs must match
  int64_t patch_size = 4;
  int64_t in_chans = 3;
  int64_t embed_dim = 96;           // stage i has embed_dim * 2^i channels
  std::vector<int64_t> depths{2, 2, 6, 2};
  std::vector<int64_t> num_heads{3, 6, 12, 24};
  int64_t window_size = 7;          // target window; clamped per stage to the stage resolution
  double mlp_ratio = 4.0;
  bool qkv_bias = true;

  int64_t num_features() const { return embed_dim << (depths.size() - 1); }
};

}  // namespace wildreid::models
