// Covariance route (n >= d): C = Xc^T Xc / (n - 1). Gram route (n < d): G = Xc Xc^T / (n - 1),
// which has the same non-zero eigenvalues; a component is Xc^T u / sqrt((n - 1) lambda).
//
// The eigenvalues alone (eigvalsh, a few times cheaper than a full eigh at 9k x 9k) fix k
// exactly. When k is small against the matrix side, only k eigenvectors are needed: subspace
// iteration on a block of k + oversampling vectors, stopped once its Rayleigh-Ritz values capture
// the known top-k variance to a relative 1e-5 (the only thing a variance-fraction PCA promises;
// inside a cluster of equal eigenvalues any basis is as good). Otherwise, or if that has not
// converged after a bounded number of steps, a full eigh. Everything in float32 on the input's
// device: the fit only selects a subspace.
#include "identify/pca.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <stdexcept>
#include <string>

namespace wildreid::identify {
namespace {

// Top-k eigenvectors of the symmetric PSD `m` whose exact top-k eigenvalue sum is `target`;
// undefined when subspace iteration does not reach it.
at::Tensor top_eigenvectors(const at::Tensor& m, int64_t k, double target) {
  const int64_t side = m.size(0);
  const int64_t block = std::min(side, k + std::max<int64_t>(16, k / 4));
  if (3 * block > side) return {};
  auto gen = at::make_generator<at::CPUGeneratorImpl>(12345);
  auto q = std::get<0>(at::linalg_qr(at::randn({side, block}, gen, at::kFloat).to(m.device())));
  for (int step = 0; step < 30; ++step) {
    q = std::get<0>(at::linalg_qr(at::mm(m, q)));
    if (step % 3 != 2) continue;
    auto [theta, v] = at::linalg_eigh(at::mm(q.t(), at::mm(m, q)));  // Rayleigh-Ritz, ascending
    const double captured = theta.flip(0).narrow(0, 0, k).to(at::kDouble).sum().item<double>();
    if (captured >= (1.0 - 1e-5) * target) return at::mm(q, v.flip(1).narrow(1, 0, k));
  }
  return {};
}

}  // namespace

void Pca::fit(const at::Tensor& x, double variance_fraction) {
  if (x.dim() != 2 || x.size(0) < 2) throw std::invalid_argument("PCA: fit needs an [n >= 2, d] matrix");
  if (!(variance_fraction > 0 && variance_fraction <= 1))
    throw std::invalid_argument("PCA: variance fraction must be in (0, 1], got " + std::to_string(variance_fraction));
  const auto xf = x.to(at::kFloat);
  const int64_t n = xf.size(0), d = xf.size(1);
  mean_ = xf.mean(0);
  const auto xc = xf - mean_;
  const bool covariance = n >= d;
  const auto gram = (covariance ? at::mm(xc.t(), xc) : at::mm(xc, xc.t())).div_(static_cast<double>(n - 1));
  const auto values = at::linalg_eigvalsh(gram).flip(0).clamp_min(0).to(at::kDouble);  // decreasing
  const double total = values.sum().item<double>();
  if (!(total > 0)) throw std::invalid_argument("PCA: the rows have no variance");
  const auto ratio_cumsum = (values / total).cumsum(0);
  const int64_t positive = values.gt(0).sum().item<int64_t>();
  int64_t k = ratio_cumsum.le(variance_fraction).sum().item<int64_t>() + 1;
  k = std::max<int64_t>(1, std::min(k, positive));
  explained_ = ratio_cumsum[k - 1].item<double>();
  auto top = top_eigenvectors(gram, k, values.narrow(0, 0, k).sum().item<double>());
  if (!top.defined()) top = std::get<1>(at::linalg_eigh(gram)).flip(1).narrow(1, 0, k);
  if (!covariance) {
    // u_j -> Xc^T u_j / sqrt((n - 1) lambda_j): unit-norm eigenvectors of the covariance.
    const auto lambda = values.narrow(0, 0, k).to(at::kFloat).to(xc.device());
    top = at::mm(xc.t(), top) / (lambda * static_cast<double>(n - 1)).sqrt();
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
