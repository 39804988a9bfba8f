// PCA keeping the fewest leading components whose explained variance reaches a fraction (0.99
// in the seed), with scikit-learn's rule for the count: k = 1 + the number of cumulative
// explained-variance ratios <= fraction. Fitted from an eigendecomposition of the d x d
// covariance (or the n x n Gram matrix when there are fewer rows than features) with LibTorch's
// LAPACK, which on 13k x 9k embeddings is several times faster than the full SVD scikit-learn
// runs for a fractional n_components. Component signs are arbitrary (irrelevant to cosine
// similarity and to the MLP).
#pragma once
#include <ATen/Tensor.h>

namespace wildreid::identify {

class Pca {
 public:
  // x: [n, d] float32 on any device; variance_fraction in (0, 1] (1 keeps every component with
  // non-zero variance).
  void fit(const at::Tensor& x, double variance_fraction);
  at::Tensor transform(const at::Tensor& x) const;  // [n, k]
  bool fitted() const { return components_.defined(); }
  int64_t components() const { return components_.defined() ? components_.size(1) : 0; }
  double explained_fraction() const { return explained_; }  // of the kept components

 private:
  at::Tensor mean_;        // [d]
  at::Tensor components_;  // [d, k], columns by decreasing variance
  double explained_ = 0;
};

}  // namespace wildreid::identify
