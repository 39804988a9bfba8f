// Uninitialised-at-construction layers and the init pass (see layers.h).
#include "models/layers.h"

#include <ATen/ATen.h>

namespace wildreid::models {

LinearImpl::LinearImpl(int64_t in_features, int64_t out_features, bool with_bias) {
  weight = register_parameter("weight", at::empty({out_features, in_features}));
  if (with_bias) bias = register_parameter("bias", at::empty({out_features}));
}

at::Tensor LinearImpl::forward(const at::Tensor& x) { return at::linear(x, weight, bias); }

Conv2dImpl::Conv2dImpl(const Conv2dArgs& a) : args(a) {
  weight = register_parameter("weight", at::empty({a.out, a.in / a.groups, a.kernel, a.kernel}));
  if (a.bias) bias = register_parameter("bias", at::empty({a.out}));
}

at::Tensor Conv2dImpl::forward(const at::Tensor& x) {
  return at::conv2d(x, weight, bias, {args.stride, args.stride}, {args.padding, args.padding}, {1, 1}, args.groups);
}

LayerNormImpl::LayerNormImpl(int64_t dim, double eps_) : eps(eps_) {
  weight = register_parameter("weight", at::ones({dim}));
  bias = register_parameter("bias", at::zeros({dim}));
}

at::Tensor LayerNormImpl::forward(const at::Tensor& x) {
  return at::layer_norm(x, {weight.size(0)}, weight, bias, eps);
}

at::Tensor LayerNorm2dImpl::forward(const at::Tensor& x) {
  return at::layer_norm(x.permute({0, 2, 3, 1}), {weight.size(0)}, weight, bias, eps).permute({0, 3, 1, 2});
}

MlpImpl::MlpImpl(int64_t in, int64_t hidden, int64_t out, bool conv) : conv_(conv) {
  if (conv) {
    cfc1_ = register_module("fc1", Conv2d(Conv2dArgs{.in = in, .out = hidden}));
    cfc2_ = register_module("fc2", Conv2d(Conv2dArgs{.in = hidden, .out = out}));
  } else {
    fc1_ = register_module("fc1", Linear(in, hidden));
    fc2_ = register_module("fc2", Linear(hidden, out));
  }
}

at::Tensor MlpImpl::forward(const at::Tensor& x) {
  if (conv_) return cfc2_->forward(at::gelu(cfc1_->forward(x)));
  return fc2_->forward(at::gelu(fc1_->forward(x)));
}

at::Tensor MlpImpl::forward_tokens_last(const at::Tensor& x) {
  if (!conv_) return forward(x);
  // A [out, in, 1, 1] weight, contiguous or channels-last, is the [out, in] matrix in memory.
  at::Tensor h = at::gelu(at::linear(x, cfc1_->weight.flatten(1), cfc1_->bias));
  return at::linear(h, cfc2_->weight.flatten(1), cfc2_->bias);
}

at::Tensor drop_path(const at::Tensor& x, double p, bool training) {
  if (p <= 0.0 || !training) return x;
  std::vector<int64_t> shape(x.dim(), 1);
  shape[0] = x.size(0);
  at::Tensor keep = at::empty(shape, x.options()).bernoulli_(1.0 - p).div_(1.0 - p);
  return x * keep;
}

void to_channels_last(torch::nn::Module& module) {
  at::NoGradGuard no_grad;
  for (auto& p : module.parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
}

std::vector<std::vector<double>> drop_path_rates(double rate, const std::vector<int64_t>& depths) {
  int64_t total = 0;
  for (auto d : depths) total += d;
  std::vector<std::vector<double>> out;
  int64_t i = 0;
  for (auto d : depths) {
    std::vector<double> stage;
    for (int64_t j = 0; j < d; ++j, ++i) stage.push_back(total > 1 ? rate * double(i) / double(total - 1) : 0.0);
    out.push_back(stage);
  }
  return out;
}

}  // namespace wildreid::models
