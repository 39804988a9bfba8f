// The keypoints of one image as every extractor returns them and every matcher and the feature
// cache take them: plain CPU (or device) tensors, one row per keypoint, in the pixel frame of the
// resized image the extractor saw. SIFT adds its scale and orientation (LightGlue's "sift" model
// reads them); learned extractors leave them undefined.
#pragma once
#include <ATen/Tensor.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace wildreid::matching {

struct LocalFeatures {
  at::Tensor keypoints;    // [N, 2] float32, (x, y) pixels
  at::Tensor descriptors;  // [N, D] float32
  at::Tensor scores;       // [N] float32, detection score
  at::Tensor scales;       // [N] float32 (SIFT keypoint size) or undefined
  at::Tensor oris;         // [N] float32, radians (SIFT) or undefined
  int64_t width = 0;       // size of the image the keypoints refer to
  int64_t height = 0;

  int64_t size() const { return keypoints.defined() ? keypoints.size(0) : 0; }
  int64_t dim() const { return descriptors.defined() ? descriptors.size(1) : 0; }
  bool has_scale_ori() const { return scales.defined() && oris.defined(); }
  size_t bytes() const;  // tensor storage, for the memory budget of the feature store
};

// Two images' features to match (borrowed; the caller keeps them alive).
using FeaturePair = std::pair<const LocalFeatures*, const LocalFeatures*>;

// Throws std::invalid_argument naming `what` (an image id or file) when shapes, dtypes or the image
// size are inconsistent, so a corrupt cache entry or a bad extractor output is caught at the seam.
void check_features(const LocalFeatures& f, const std::string& what);

// Zero keypoints with descriptor width `dim` (an empty, blank or unreadable-size image).
LocalFeatures empty_features(int64_t dim, int64_t width, int64_t height, bool with_scale_ori);

}  // namespace wildreid::matching
