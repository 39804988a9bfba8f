// StandardScaler as scikit-learn defines it: per feature, subtract the mean and divide by the
// population standard deviation (ddof 0) of the rows it was fitted on; constant features are
// divided by 1. Used before PCA when embeddings of several models are concatenated, so no model
// dominates by the scale of its features.
#pragma once
#include <ATen/Tensor.h>

namespace wildreid::identify {

class StandardScaler {
 public:
  void fit(const at::Tensor& x);  // x: [n, d] float
  at::Tensor transform(const at::Tensor& x) const;
  bool fitted() const { return mean_.defined(); }
  const at::Tensor& mean() const { return mean_; }
  const at::Tensor& scale() const { return scale_; }

 private:
  at::Tensor mean_, scale_;  // [d] float32
};

}  // namespace wildreid::identify
