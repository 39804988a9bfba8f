// timm's SEModule as MaxViT's MBConv uses it: global mean -> 1x1 conv (fc1) -> SiLU -> 1x1 conv
// (fc2) -> sigmoid gate on the input. Parameter names fc1/fc2 with biases.
#pragma once
#include <torch/nn/module.h>

#include "models/layers.h"

namespace wildreid::models {

class MaxVitSqueezeExciteImpl : public torch::nn::Module {
 public:
  MaxVitSqueezeExciteImpl(int64_t channels, int64_t reduced);
  at::Tensor forward(const at::Tensor& x);

  Conv2d fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(MaxVitSqueezeExcite);

}  // namespace wildreid::models
