// See maxvit_batch_norm_act.h. Training mode updates the running statistics with PyTorch's default
// momentum 0.1 and counts batches, as nn.BatchNorm2d does.
#include "models/maxvit_batch_norm_act.h"

#include <ATen/ATen.h>

namespace wildreid::models {

MaxVitBatchNormActImpl::MaxVitBatchNormActImpl(int64_t channels, double eps, bool apply_act)
    : eps_(eps), apply_act_(apply_act) {
  weight = register_parameter("weight", at::ones({channels}));
  bias = register_parameter("bias", at::zeros({channels}));
  running_mean = register_buffer("running_mean", at::zeros({channels}));
  running_var = register_buffer("running_var", at::ones({channels}));
  num_batches_tracked = register_buffer("num_batches_tracked", at::zeros({}, at::kLong));
}

at::Tensor MaxVitBatchNormActImpl::forward(const at::Tensor& x) {
  if (is_training()) {
    at::NoGradGuard no_grad;
    num_batches_tracked.add_(1);
  }
  auto y = at::batch_norm(x, weight, bias, running_mean, running_var, is_training(), 0.1, eps_,
                          at::globalContext().userEnabledCuDNN());
  return apply_act_ ? at::gelu(y, "tanh") : y;
}

}  // namespace wildreid::models
