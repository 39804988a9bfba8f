// TensorFlow 'SAME' padding as timm does it (layers/padding.py, conv2d_same.py, pool2d_same.py):
// when stride 1 and an odd kernel allow it the padding is static and symmetric; otherwise the input
// is padded at run time by ceil(i/s)-1)*s + (k-1)*d + 1 - i, the odd pixel going right/bottom. The
// conv keeps parameter names weight/bias (it is models/layers.h's Conv2d with a different forward).
#pragma once
#include <ATen/Tensor.h>

#include "models/layers.h"

namespace wildreid::models {

// Pads the last two dims of x for a 'SAME' window of kernel k, stride s (and dilation d).
at::Tensor maxvit_pad_same(const at::Tensor& x, int64_t k, int64_t s, int64_t d = 1, double value = 0.0);

// timm's create_conv2d(..., padding='same'): static padding when possible, else Conv2dSame.
class MaxVitSameConv2dImpl : public Conv2dImpl {
 public:
  explicit MaxVitSameConv2dImpl(Conv2dArgs args);  // args.padding is computed here
  at::Tensor forward(const at::Tensor& x);
  bool dynamic() const { return dynamic_; }

 private:
  bool dynamic_;
};
TORCH_MODULE(MaxVitSameConv2d);

// timm's AvgPool2dSame(2, 2) used by Downsample2d with 'same' padding (count_include_pad=True).
at::Tensor maxvit_avg_pool_same(const at::Tensor& x, int64_t k, int64_t s);

}  // namespace wildreid::models
