// Mean and population variance in one LibTorch reduction (cascaded sums, accurate in float32
// without a float64 copy of a 13k x 9k matrix), applied in the input's dtype on its device.
#include "identify/standard_scaler.h"

#include <ATen/ATen.h>

#include <stdexcept>

namespace wildreid::identify {

void StandardScaler::fit(const at::Tensor& x) {
  if (x.dim() != 2 || x.size(0) == 0) throw std::invalid_argument("StandardScaler: fit needs a non-empty [n, d] matrix");
  const auto [var, mean] = at::var_mean(x, at::IntArrayRef{0}, /*correction=*/at::Scalar(0), /*keepdim=*/false);
  auto scale = var.sqrt();
  scale = at::where(scale > 0, scale, at::ones_like(scale));
  mean_ = mean.to(x.scalar_type());
  scale_ = scale.to(x.scalar_type());
}

at::Tensor StandardScaler::transform(const at::Tensor& x) const {
  if (!fitted()) throw std::logic_error("StandardScaler used before fit");
  if (x.dim() != 2 || x.size(1) != mean_.size(0))
    throw std::invalid_argument("StandardScaler: expected [n, " + std::to_string(mean_.size(0)) + "] input");
  return (x - mean_.to(x.device(), x.scalar_type())) / scale_.to(x.device(), x.scalar_type());
}

}  // namespace wildreid::identify
