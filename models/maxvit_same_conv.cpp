// See maxvit_same_conv.h.
#include "models/maxvit_same_conv.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace wildreid::models {
namespace {

int64_t same_pad_total(int64_t size, int64_t k, int64_t s, int64_t d) {
  return std::max<int64_t>((((size + s - 1) / s) - 1) * s + (k - 1) * d + 1 - size, 0);
}

// timm's is_static_pad: stride 1 and an even total padding.
bool needs_dynamic_pad(const Conv2dArgs& args) { return !(args.stride == 1 && (args.kernel - 1) % 2 == 0); }

Conv2dArgs with_static_padding(Conv2dArgs args) {
  args.padding = needs_dynamic_pad(args) ? 0 : (args.kernel - 1) / 2;
  return args;
}

}  // namespace

at::Tensor maxvit_pad_same(const at::Tensor& x, int64_t k, int64_t s, int64_t d, double value) {
  const int64_t pad_h = same_pad_total(x.size(-2), k, s, d), pad_w = same_pad_total(x.size(-1), k, s, d);
  if (pad_h == 0 && pad_w == 0) return x;
  return at::constant_pad_nd(x, {pad_w / 2, pad_w - pad_w / 2, pad_h / 2, pad_h - pad_h / 2}, value);
}

MaxVitSameConv2dImpl::MaxVitSameConv2dImpl(Conv2dArgs args)
    : Conv2dImpl(with_static_padding(args)), dynamic_(needs_dynamic_pad(args)) {}

at::Tensor MaxVitSameConv2dImpl::forward(const at::Tensor& x) {
  if (!dynamic_) return Conv2dImpl::forward(x);
  return Conv2dImpl::forward(maxvit_pad_same(x, args.kernel, args.stride));
}

at::Tensor maxvit_avg_pool_same(const at::Tensor& x, int64_t k, int64_t s) {
  return at::avg_pool2d(maxvit_pad_same(x, k, s), {k, k}, {s, s}, {0, 0}, false, true);
}

}  // namespace wildreid::models
