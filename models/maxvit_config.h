// MaxViT hyper-parameters for timm's `_tf_` variants (timm/models/maxxvit.py: MaxxVitCfg with
// _tf_cfg(): 'same' padding, BatchNorm eps 1e-3, gelu_tanh, interleaved qkv heads, bias_tf relative
// position). Only the knobs those variants use are modelled; every block is type 'M' (MBConv, then
// block attention, then grid attention).
#pragma once
#include <cstdint>
#include <vector>

namespace wildreid::models {

struct MaxVitConfig {
  int64_t img_size = 224;                          // fixed input side (timm: fixed_input_size)
  int64_t in_chans = 3;
  std::vector<int64_t> embed_dim{64, 128, 256, 512};
  std::vector<int64_t> depths{2, 2, 5, 2};
  int64_t stem_width = 64;
  bool stem_bias = true;
  int64_t head_hidden_size = 512;                  // pre-logits Linear + tanh width (0 = none)
  // transformer_cfg
  int64_t dim_head = 32;
  double mlp_ratio = 4.0;                          // transformer_cfg.expand_ratio
  int64_t partition_ratio = 32;                    // window = grid = img_size / partition_ratio
  int64_t window_size = 0;                         // transformer_cfg.window_size; 0 = from the ratio
  double transformer_norm_eps = 1e-5;
  // conv_cfg (MBConv)
  double conv_expand_ratio = 4.0;
  double se_ratio = 0.25;                          // conv_cfg.attn_ratio, of the block's output width
  double conv_norm_eps = 1e-3;

  int64_t window() const { return window_size > 0 ? window_size : img_size / partition_ratio; }
  int64_t num_features() const { return embed_dim.back(); }
  int64_t embedding_dim() const { return head_hidden_size > 0 ? head_hidden_size : num_features(); }
};

}  // namespace wildreid::models
