// See timm_init.h. Formulas follow torch.nn.init and timm.layers.weight_init.
#include "models/timm_init.h"

#include <ATen/ATen.h>

#include <cmath>

#include "models/layers.h"

namespace wildreid::models::timm_init {

std::vector<Layer> layers(torch::nn::Module& root) {
  std::vector<Layer> out;
  for (const auto& item : root.named_modules(/*name_prefix=*/"", /*include_self=*/false)) {
    torch::nn::Module* m = item.value().get();
    Layer layer;
    if (auto* l = dynamic_cast<LinearImpl*>(m)) {
      layer = linear_layer(item.key(), l->weight, l->bias);
    } else if (auto* c = dynamic_cast<Conv2dImpl*>(m)) {
      const int64_t receptive = c->weight.size(2) * c->weight.size(3);
      layer.name = item.key();
      layer.weight = c->weight;
      layer.bias = c->bias;
      layer.fan_in = c->weight.size(1) * receptive;
      layer.fan_out = c->weight.size(0) * receptive;
      layer.groups = c->args.groups;
      layer.conv = true;
    } else {
      continue;
    }
    out.push_back(std::move(layer));
  }
  return out;
}

void trunc_normal(at::Tensor t, double std) {
  // timm's (and PyTorch's) inverse-CDF method: uniform in [2F(a)-1, 2F(b)-1], erfinv, scale, clamp.
  at::NoGradGuard no_grad;
  const double a = -2.0, b = 2.0;
  auto cdf = [std](double x) { return (1.0 + std::erf(x / std / std::sqrt(2.0))) / 2.0; };
  t.uniform_(2 * cdf(a) - 1, 2 * cdf(b) - 1);
  t.erfinv_().mul_(std * std::sqrt(2.0)).clamp_(a, b);
}

void torch_default(const Layer& layer) {
  at::NoGradGuard no_grad;
  const double bound = 1.0 / std::sqrt(static_cast<double>(layer.fan_in));
  layer.weight.uniform_(-bound, bound);
  if (layer.bias.defined()) layer.bias.uniform_(-bound, bound);
}

void xavier_uniform(const Layer& layer) {
  at::NoGradGuard no_grad;
  const double bound = std::sqrt(6.0 / static_cast<double>(layer.fan_in + layer.fan_out));
  layer.weight.uniform_(-bound, bound);
}

void fan_out_normal(const Layer& layer) {
  at::NoGradGuard no_grad;
  const double fan_out = static_cast<double>(layer.fan_out / layer.groups);
  layer.weight.normal_(0.0, std::sqrt(2.0 / fan_out));
}

void trunc_normal_zero_bias(const Layer& layer, double std) {
  trunc_normal(layer.weight, std);
  zero_bias(layer);
}

Layer linear_layer(const std::string& name, const at::Tensor& weight, const at::Tensor& bias) {
  Layer layer;
  layer.name = name;
  layer.weight = weight;
  layer.bias = bias;
  layer.fan_in = weight.size(1);
  layer.fan_out = weight.size(0);
  return layer;
}

void zero_bias(const Layer& layer) {
  at::NoGradGuard no_grad;
  if (layer.bias.defined()) layer.bias.zero_();
}

void reset_layer_norms(torch::nn::Module& root) {
  at::NoGradGuard no_grad;
  for (const auto& m : root.modules(/*include_self=*/false)) {
    if (auto* n = dynamic_cast<LayerNormImpl*>(m.get())) {
      n->weight.fill_(1.0);
      n->bias.zero_();
    }
  }
}

bool ends_with(const std::string& name, const std::string& suffix) {
  return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace wildreid::models::timm_init
