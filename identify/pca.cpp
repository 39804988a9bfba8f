// Covariance route (n >= d): C = Xc^T Xc / (n - 1), eigh(C) -> eigenvalues ascending, vectors.
// Gram route (n < d): G = Xc Xc^T / (n - 1) has the same non-zero eigenvalues; a component is
// Xc^T u / sqrt((n - 1) lambda). Both in float32 on the input's device: the fit only selects a
// subspace, and float32 keeps the 9k x 9k products and the eigensolver fast.
#include "identify/pca.h"

#include <ATen/ATen.h>

#include <stdexcept>
#include <string>

namespace wildreid::identify {

void Pca::fit(const at::Tensor& x, double variance_fraction) {
  if (x.dim() != 2 || x.size(0) < 2) throw std::invalid_argument("PCA: fit needs an [n >= 2, d] matrix");
  if (!(variance_fraction > 0 && variance_fraction <= 1))
    throw std::invalid_argument("PCA: variance fraction must be in (0, 1], got " + std::to_string(variance_fraction));
  const auto xf = x.to(at::kFloat);
  const int64_t n = xf.size(0), d = xf.size(1);
  mean_ = xf.mean(0);
  const auto xc = xf - mean_;
  const bool covariance = n >= d;
  const auto gram = covariance ? at::mm(xc.t(), xc) : at::mm(xc, xc.t());
  auto [values, vectors] = at::linalg_eigh(gram.div_(static_cast<double>(n - 1)));
  values = values.flip(0).clamp_min(0);  // decreasing; tiny negative round-off to 0
  vectors = vectors.flip(1);
  const auto total = values.to(at::kDouble).sum().item<double>();
  if (!(total > 0)) throw std::invalid_argument("PCA: the rows have no variance");
  const auto ratio_cumsum = (values.to(at::kDouble) / total).cumsum(0);
  const int64_t positive = values.gt(0).sum().item<int64_t>();
  int64_t k = ratio_cumsum.le(variance_fraction).sum().item<int64_t>() + 1;
  k = std::max<int64_t>(1, std::min(k, positive));
  explained_ = ratio_cumsum[k - 1].item<double>();
  auto top = vectors.narrow(1, 0, k);
  if (!covariance) {
    // u_j -> Xc^T u_j / sqrt((n - 1) lambda_j): unit-norm eigenvectors of the covariance.
    top = at::mm(xc.t(), top) / (values.narrow(0, 0, k) * static_cast<double>(n - 1)).sqrt();
  }
  components_ = top.contiguous();
}

at::Tensor Pca::transform(const at::Tensor& x) const {
  if (!fitted()) throw std::logic_error("PCA used before fit");
  if (x.dim() != 2 || x.size(1) != mean_.size(0))
    throw std::invalid_argument("PCA: expected [n, " + std::to_string(mean_.size(0)) + "] input");
  const auto xf = x.to(at::kFloat);
  return at::mm(xf - mean_.to(xf.device()), components_.to(xf.device()));
}

}  // namespace wildreid::identify
