// Minimal layers with timm/PyTorch parameter names (weight, bias) that allocate their parameters
// uninitialised: construction is free even for 475M parameters, and initialisation is a separate
// pass (each family's Backbone::init_weights, models/timm_init.h) that create_model runs only when
// weights are not about to be loaded.
// torch::nn's own Linear/Conv2d initialise in their constructors, hence these.
#pragma once
#include <ATen/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <vector>

namespace wildreid::models {

class LinearImpl : public torch::nn::Module {
 public:
  LinearImpl(int64_t in_features, int64_t out_features, bool bias = true);
  at::Tensor forward(const at::Tensor& x);
  at::Tensor weight, bias;  // [out, in], [out] (bias undefined when disabled)
};
TORCH_MODULE(Linear);

struct Conv2dArgs {
  int64_t in = 0, out = 0, kernel = 1, stride = 1, padding = 0, groups = 1;
  bool bias = true;
};
class Conv2dImpl : public torch::nn::Module {
 public:
  explicit Conv2dImpl(const Conv2dArgs& args);
  at::Tensor forward(const at::Tensor& x);
  at::Tensor weight, bias;  // [out, in/groups, k, k], [out]
  Conv2dArgs args;
};
TORCH_MODULE(Conv2d);

// LayerNorm over the last dimension (weight ones, bias zeros; cheap to fill).
class LayerNormImpl : public torch::nn::Module {
 public:
  explicit LayerNormImpl(int64_t dim, double eps = 1e-6);
  at::Tensor forward(const at::Tensor& x);
  at::Tensor weight, bias;
  double eps;
};
TORCH_MODULE(LayerNorm);

// timm's LayerNorm2d: LayerNorm over channels of an NCHW tensor.
class LayerNorm2dImpl : public LayerNormImpl {
 public:
  using LayerNormImpl::LayerNormImpl;
  at::Tensor forward(const at::Tensor& x);
};
TORCH_MODULE(LayerNorm2d);

// timm's Mlp (fc1 -> GELU -> fc2, tokens last) or ConvMlp (1x1 convs on NCHW) when `conv` is set.
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t in, int64_t hidden, int64_t out, bool conv = false);
  at::Tensor forward(const at::Tensor& x);
  // Tokens-last input [..., in] whatever `conv` is: a ConvMlp's 1x1 convolutions run as the
  // matrix products they are, on their own [out, in, 1, 1] weights (same parameters, same names).
  // On NHWC activations this is the faster form of a ConvMlp (see ConvNeXtBlockImpl::forward).
  at::Tensor forward_tokens_last(const at::Tensor& x);

 private:
  bool conv_;
  Linear fc1_{nullptr}, fc2_{nullptr};
  Conv2d cfc1_{nullptr}, cfc2_{nullptr};
};
TORCH_MODULE(Mlp);

// Stochastic depth per sample (timm's drop_path): identity when not training or p == 0.
at::Tensor drop_path(const at::Tensor& x, double p, bool training);

// Stores every 4-D parameter (conv weights) in channels_last memory format.
void to_channels_last(torch::nn::Module& module);

// Stochastic-depth rates linearly spaced over all blocks, split per stage (timm's dp_rates).
std::vector<std::vector<double>> drop_path_rates(double rate, const std::vector<int64_t>& depths);

}  // namespace wildreid::models
