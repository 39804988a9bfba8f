// See maxvit_squeeze_excite.h.
#include "models/maxvit_squeeze_excite.h"

#include <ATen/ATen.h>

namespace wildreid::models {

MaxVitSqueezeExciteImpl::MaxVitSqueezeExciteImpl(int64_t channels, int64_t reduced) {
  fc1 = register_module("fc1", Conv2d(Conv2dArgs{.in = channels, .out = reduced}));
  fc2 = register_module("fc2", Conv2d(Conv2dArgs{.in = reduced, .out = channels}));
}

at::Tensor MaxVitSqueezeExciteImpl::forward(const at::Tensor& x) {
  auto s = x.mean({2, 3}, /*keepdim=*/true);
  s = fc2->forward(at::silu(fc1->forward(s)));
  return x * at::sigmoid(s);
}

}  // namespace wildreid::models
