// MaxViT's MBConv block (timm's MbConvBlock with the `_tf_` conv config, stride_mode 'dw'):
//   shortcut = Downsample2d (2x2 'same' avg pool, then a 1x1 conv `expand` when the width changes)
//              on stride 2, identity otherwise;
//   x = pre_norm (BN) -> conv1_1x1 -> norm1 (BN+gelu_tanh) -> conv2_kxk (depthwise 3x3, 'same',
//       carries the stride) -> norm2 (BN+gelu_tanh) -> se -> conv3_1x1 (with bias);
//   out = drop_path(x) + shortcut.
#pragma once
#include <torch/nn/module.h>

#include "models/layers.h"
#include "models/maxvit_batch_norm_act.h"
#include "models/maxvit_same_conv.h"
#include "models/maxvit_squeeze_excite.h"

namespace wildreid::models {

struct MaxVitMbConvOptions {
  int64_t in = 64, out = 64;
  int64_t stride = 1;
  double expand_ratio = 4.0;  // of the output width
  double se_ratio = 0.25;     // of the output width
  double norm_eps = 1e-3;
  double drop_path = 0.0;
};

// timm's make_divisible(v, 8): round to a multiple of 8, never more than 10% down.
int64_t maxvit_make_divisible(double v, int64_t divisor = 8);

class MaxVitMbConvImpl : public torch::nn::Module {
 public:
  explicit MaxVitMbConvImpl(const MaxVitMbConvOptions& options);
  at::Tensor forward(const at::Tensor& x);

 private:
  MaxVitMbConvOptions options_;
  Conv2d shortcut_expand_{nullptr};  // shortcut.expand, present when stride 2 and in != out
  MaxVitBatchNormAct pre_norm_{nullptr}, norm1_{nullptr}, norm2_{nullptr};
  Conv2d conv1_{nullptr}, conv3_{nullptr};
  MaxVitSameConv2d conv2_{nullptr};
  MaxVitSqueezeExcite se_{nullptr};
};
TORCH_MODULE(MaxVitMbConv);

}  // namespace wildreid::models
