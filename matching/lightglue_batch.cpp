// See lightglue_batch.h. Padding slots hold zeros (finite, so masked attention never meets NaN).
#include "matching/lightglue_batch.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace wildreid::matching {
namespace {

std::string where(const PadOptions& o, size_t row) {
  return "pair " + std::to_string(o.pair_numbers.empty() ? row : o.pair_numbers[row]) + " image " +
         std::to_string(o.side);
}

}  // namespace

PaddedSide pad_side(const std::vector<const LocalFeatures*>& features, const PadOptions& o) {
  const int64_t b = static_cast<int64_t>(features.size());
  int64_t length = 0;
  for (const auto* f : features) length = std::max(length, f->size());
  const int64_t coords = o.scale_ori ? 4 : 2;
  PaddedSide s;
  s.coords = at::zeros({b, length, coords}, at::kFloat);
  s.descriptors = at::zeros({b, length, o.descriptor_dim}, at::kFloat);
  s.index = at::full({b, length}, -1, at::kLong);
  s.counts = at::zeros({b}, at::kLong);
  at::Tensor mask = at::zeros({b, length}, at::kBool);
  bool padded = false;
  for (int64_t r = 0; r < b; ++r) {
    const LocalFeatures& f = *features[r];
    const int64_t n = f.size();
    check_features(f, where(o, r));
    if (f.dim() != o.descriptor_dim)
      throw std::invalid_argument(where(o, r) + ": descriptors are " + std::to_string(f.dim()) +
                                  "-D, the LightGlue weights expect " + std::to_string(o.descriptor_dim));
    if (o.scale_ori && !f.has_scale_ori())
      throw std::invalid_argument(where(o, r) + ": this LightGlue model needs keypoint scales and orientations "
                                  "(SIFT features)");
    const float w = static_cast<float>(f.width), h = static_cast<float>(f.height);
    at::Tensor shift = at::tensor({w / 2, h / 2}, at::kFloat);
    at::Tensor kpts = (f.keypoints.to(at::kCPU, at::kFloat) - shift) / (std::max(w, h) / 2);
    if (n > 0 && (kpts.min().item<float>() < -1 || kpts.max().item<float>() > 1))
      throw std::invalid_argument(where(o, r) + ": keypoints lie outside the " + std::to_string(f.width) + "x" +
                                  std::to_string(f.height) + " image");
    at::Tensor row = s.coords[r].slice(0, 0, n);
    row.slice(1, 0, 2).copy_(kpts);
    if (o.scale_ori) {
      at::Tensor scales = f.scales.to(at::kCPU, at::kFloat);
      row.select(1, 2).copy_(o.scale_coef != 1.0 ? scales * o.scale_coef : scales);
      row.select(1, 3).copy_(f.oris.to(at::kCPU, at::kFloat));
    }
    s.descriptors[r].slice(0, 0, n).copy_(f.descriptors);
    s.index[r].slice(0, 0, n).copy_(at::arange(n, at::kLong));
    mask[r].slice(0, 0, n).fill_(true);
    s.counts[r] = n;
    padded = padded || n < length;
  }
  if (padded) s.mask = mask;
  return s;
}

}  // namespace wildreid::matching
