// See local_features.h.
#include "matching/local_features.h"

#include <ATen/ATen.h>

#include <stdexcept>

namespace wildreid::matching {
namespace {

size_t storage_bytes(const at::Tensor& t) { return t.defined() ? t.numel() * t.element_size() : 0; }

void expect(bool ok, const std::string& what, const std::string& problem) {
  if (!ok) throw std::invalid_argument("local features of " + what + ": " + problem);
}

}  // namespace

size_t LocalFeatures::bytes() const {
  return storage_bytes(keypoints) + storage_bytes(descriptors) + storage_bytes(scores) + storage_bytes(scales) +
         storage_bytes(oris);
}

void check_features(const LocalFeatures& f, const std::string& what) {
  expect(f.keypoints.defined() && f.descriptors.defined() && f.scores.defined(), what,
         "keypoints, descriptors and scores must all be present");
  expect(f.keypoints.dim() == 2 && f.keypoints.size(1) == 2, what,
         "keypoints must be [N, 2], got " + c10::str(f.keypoints.sizes()));
  const int64_t n = f.keypoints.size(0);
  expect(f.descriptors.dim() == 2 && f.descriptors.size(0) == n, what,
         "descriptors must be [" + std::to_string(n) + ", D], got " + c10::str(f.descriptors.sizes()));
  expect(f.scores.dim() == 1 && f.scores.size(0) == n, what,
         "scores must be [" + std::to_string(n) + "], got " + c10::str(f.scores.sizes()));
  for (const at::Tensor* t : {&f.keypoints, &f.descriptors, &f.scores})
    expect(t->scalar_type() == at::kFloat, what, "tensors must be float32");
  expect(f.scales.defined() == f.oris.defined(), what, "scales and oris come together");
  if (f.scales.defined()) {
    expect(f.scales.dim() == 1 && f.scales.size(0) == n && f.oris.dim() == 1 && f.oris.size(0) == n, what,
           "scales and oris must be [" + std::to_string(n) + "]");
  }
  expect(f.width > 0 && f.height > 0, what,
         "image size must be positive, got " + std::to_string(f.width) + "x" + std::to_string(f.height));
}

LocalFeatures empty_features(int64_t dim, int64_t width, int64_t height, bool with_scale_ori) {
  LocalFeatures f;
  f.keypoints = at::zeros({0, 2}, at::kFloat);
  f.descriptors = at::zeros({0, dim}, at::kFloat);
  f.scores = at::zeros({0}, at::kFloat);
  if (with_scale_ori) {
    f.scales = at::zeros({0}, at::kFloat);
    f.oris = at::zeros({0}, at::kFloat);
  }
  f.width = width;
  f.height = height;
  return f;
}

}  // namespace wildreid::matching
