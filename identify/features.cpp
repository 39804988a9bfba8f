#include "identify/features.h"

#include <ATen/ATen.h>

#include <chrono>
#include <stdexcept>

#include "identify/pca.h"
#include "identify/similarity.h"
#include "identify/standard_scaler.h"

namespace wildreid::identify {

at::Tensor build_features(const Embeddings& e, const FeatureOptions& o, const std::vector<int64_t>& fit_rows,
                          FeatureReport* report) {
  const auto start = std::chrono::steady_clock::now();
  if (o.models.empty()) throw std::invalid_argument("features: no model named");
  std::vector<at::Tensor> parts;
  for (const auto& name : o.models) parts.push_back(e.model(name).embedding);
  auto x = (parts.size() == 1 ? parts[0] : at::cat(parts, 1)).to(o.device, at::kFloat);
  FeatureReport r;
  r.input_dim = x.size(1);
  if (o.scaler || o.pca > 0) {
    if (fit_rows.empty()) throw std::invalid_argument("features: no rows to fit the scaler/PCA on");
    const auto fit_index = at::tensor(at::ArrayRef<int64_t>(fit_rows), at::kLong).to(o.device);
    if (o.scaler) {
      StandardScaler scaler;
      scaler.fit(x.index_select(0, fit_index));
      x = scaler.transform(x);
    }
    if (o.pca > 0) {
      Pca pca;
      pca.fit(x.index_select(0, fit_index), o.pca);
      x = pca.transform(x);
      r.pca_components = pca.components();
      r.pca_explained = pca.explained_fraction();
    }
  }
  if (o.normalize) x = l2_normalize(x);
  r.output_dim = x.size(1);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (report) *report = r;
  return x.to(at::kCPU).contiguous();
}

}  // namespace wildreid::identify
