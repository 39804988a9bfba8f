// See maxvit_mbconv.h.
#include "models/maxvit_mbconv.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <stdexcept>

namespace wildreid::models {

int64_t maxvit_make_divisible(double v, int64_t divisor) {
  int64_t rounded = std::max<int64_t>(divisor, static_cast<int64_t>(v + divisor / 2.0) / divisor * divisor);
  if (static_cast<double>(rounded) < 0.9 * v) rounded += divisor;
  return rounded;
}

MaxVitMbConvImpl::MaxVitMbConvImpl(const MaxVitMbConvOptions& o) : options_(o) {
  if (o.stride != 1 && o.stride != 2) throw std::invalid_argument("maxvit: MBConv stride must be 1 or 2");
  if (o.stride == 1 && o.in != o.out)
    throw std::invalid_argument("maxvit: an MBConv without stride must keep its width");
  const int64_t mid = maxvit_make_divisible(static_cast<double>(o.out) * o.expand_ratio);
  if (o.stride == 2 && o.in != o.out) {
    auto shortcut = register_module("shortcut", std::make_shared<torch::nn::Module>());
    shortcut_expand_ = shortcut->register_module("expand", Conv2d(Conv2dArgs{.in = o.in, .out = o.out}));
  }
  pre_norm_ = register_module("pre_norm", MaxVitBatchNormAct(o.in, o.norm_eps, /*apply_act=*/false));
  conv1_ = register_module("conv1_1x1", Conv2d(Conv2dArgs{.in = o.in, .out = mid, .bias = false}));
  norm1_ = register_module("norm1", MaxVitBatchNormAct(mid, o.norm_eps, true));
  conv2_ = register_module("conv2_kxk", MaxVitSameConv2d(Conv2dArgs{
                                            .in = mid, .out = mid, .kernel = 3, .stride = o.stride, .groups = mid, .bias = false}));
  norm2_ = register_module("norm2", MaxVitBatchNormAct(mid, o.norm_eps, true));
  se_ = register_module("se", MaxVitSqueezeExcite(mid, static_cast<int64_t>(o.se_ratio * static_cast<double>(o.out))));
  conv3_ = register_module("conv3_1x1", Conv2d(Conv2dArgs{.in = mid, .out = o.out}));
}

at::Tensor MaxVitMbConvImpl::forward(const at::Tensor& input) {
  at::Tensor shortcut = input;
  if (options_.stride == 2) {
    shortcut = maxvit_avg_pool_same(input, 2, 2);
    if (shortcut_expand_) shortcut = shortcut_expand_->forward(shortcut);
  }
  at::Tensor x = pre_norm_->forward(input);
  x = norm1_->forward(conv1_->forward(x));
  x = norm2_->forward(conv2_->forward(x));
  x = conv3_->forward(se_->forward(x));
  return drop_path(x, options_.drop_path, is_training()) + shortcut;
}

}  // namespace wildreid::models
