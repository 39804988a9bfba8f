// timm's BatchNormAct2d for the MaxViT `_tf_` models: BatchNorm2d (eps 1e-3 there) followed by an
// optional tanh-approximate GELU. It subclasses BatchNorm2d in timm, so its tensors sit directly
// under the module's name: weight, bias, running_mean, running_var, num_batches_tracked.
#pragma once
#include <torch/nn/module.h>

namespace wildreid::models {

class MaxVitBatchNormActImpl : public torch::nn::Module {
 public:
  MaxVitBatchNormActImpl(int64_t channels, double eps, bool apply_act);
  at::Tensor forward(const at::Tensor& x);

  at::Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  double eps_;
  bool apply_act_;
};
TORCH_MODULE(MaxVitBatchNormAct);

}  // namespace wildreid::models
