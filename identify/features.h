// The feature matrix a global pipeline or the MLP works on: the embeddings of one or more models
// concatenated, then optionally StandardScaler and PCA keeping a variance fraction (the seed's
// multi-model recipe), then optionally L2-normalised (for cosine similarity). The unsupervised
// statistics are fitted on the rows given (the database rows: never on query rows) and applied to
// every row.
#pragma once
#include <string>
#include <vector>

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include "identify/embeddings_file.h"

namespace wildreid::identify {

struct FeatureOptions {
  std::vector<std::string> models;  // concatenated in this order
  bool scaler = false;
  double pca = 0;                   // variance fraction in (0, 1]; 0: no PCA
  bool normalize = true;            // rows to unit length at the end
  c10::Device device = c10::Device(c10::kCPU);
};

struct FeatureReport {
  int64_t input_dim = 0, output_dim = 0;
  int64_t pca_components = 0;  // 0 without PCA
  double pca_explained = 0;
  double seconds = 0;
};

// [rows, D] float32 on the CPU. Throws naming the model when it is not in `embeddings`.
at::Tensor build_features(const Embeddings& embeddings, const FeatureOptions& options,
                          const std::vector<int64_t>& fit_rows, FeatureReport* report = nullptr);

}  // namespace wildreid::identify
