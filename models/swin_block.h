// One Swin Transformer block (timm's SwinTransformerBlock): LayerNorm -> (shifted) window attention
// -> residual, LayerNorm -> MLP -> residual, on NHWC tensors. The window/shift plan and the shift
// mask are fixed at construction from the stage resolution, as timm does with strict_img_size.
#pragma once
#include <torch/nn/module.h>

#include "models/layers.h"
#include "models/swin_attention.h"
#include "models/swin_window.h"

namespace wildreid::models {

struct SwinBlockOptions {
  int64_t dim = 96;
  int64_t num_heads = 3;
  int64_t res_h = 56, res_w = 56;  // the stage's feature map size
  int64_t window = 7;              // target window size
  bool shifted = false;            // odd blocks of a stage shift by window / 2
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  double drop_path = 0.0;
};

class SwinBlockImpl : public torch::nn::Module {
 public:
  explicit SwinBlockImpl(const SwinBlockOptions& options);
  at::Tensor forward(const at::Tensor& x);  // [B, H, W, C] -> same
  const SwinWindowPlan& plan() const { return plan_; }
  // The shift mask this block uses ([nW, N, N] float, undefined when unshifted): what old
  // checkpoints persist as attn_mask.
  const at::Tensor& attn_mask() const { return attn_mask_; }

  LayerNorm norm1{nullptr}, norm2{nullptr};
  SwinWindowAttention attn{nullptr};
  Mlp mlp{nullptr};

 private:
  at::Tensor window_attention(const at::Tensor& x);
  SwinBlockOptions options_;
  SwinWindowPlan plan_;
  at::Tensor attn_mask_;  // not registered: computed, never loaded or saved
};
TORCH_MODULE(SwinBlock);

}  // namespace wildreid::models
