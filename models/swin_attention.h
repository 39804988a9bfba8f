// Window multi-head self-attention with a learned relative position bias (timm's WindowAttention):
// parameters qkv, proj, relative_position_bias_table; the index into the table is computed here and
// kept out of the state dict, as timm >= 0.9 does.
#pragma once
#include <torch/nn/module.h>

#include "models/layers.h"

namespace wildreid::models {

class SwinWindowAttentionImpl : public torch::nn::Module {
 public:
  SwinWindowAttentionImpl(int64_t dim, int64_t num_heads, int64_t window_h, int64_t window_w, bool qkv_bias);
  // x: [B*nW, N, C]; mask: [nW, N, N] (0 / -100) on x's device, or undefined. Returns [B*nW, N, C].
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask);
  // [1, heads, N, N] bias gathered from the table.
  at::Tensor relative_position_bias();
  // The computed [N, N] index (what old checkpoints persist as relative_position_index).
  const at::Tensor& relative_position_index() const { return relative_position_index_; }

  Linear qkv{nullptr}, proj{nullptr};
  at::Tensor relative_position_bias_table;  // [(2wh-1)*(2ww-1), heads]

 private:
  int64_t num_heads_, window_area_;
  at::Tensor relative_position_index_;  // not registered: computed, never loaded or saved
};
TORCH_MODULE(SwinWindowAttention);

}  // namespace wildreid::models
