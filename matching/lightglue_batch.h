// Packing one side (image 0 or image 1) of many pairs into LightGlue's padded batch tensors:
// keypoints normalised as kornia does ((k - size / 2) / (max(size) / 2)), scale and orientation
// appended for SIFT models, descriptors, a validity mask and each slot's original keypoint index
// (which point pruning permutes). Inputs are checked here, at the seam, with the pair named.
#pragma once
#include <ATen/Tensor.h>

#include <cstddef>
#include <vector>

#include "matching/local_features.h"

namespace wildreid::matching {

struct PaddedSide {
  at::Tensor coords;       // [B, L, 2] or [B, L, 4] (x, y[, scale, ori])
  at::Tensor descriptors;  // [B, L, D]
  at::Tensor mask;         // [B, L] bool; undefined when every row has L keypoints
  at::Tensor index;        // [B, L] int64 original keypoint index, -1 in padding
  at::Tensor counts;       // [B] int64 keypoints per row
};

struct PadOptions {
  int64_t descriptor_dim = 128;
  bool scale_ori = false;
  double scale_coef = 1.0;
  int side = 0;                        // for error messages
  std::vector<size_t> pair_numbers;    // position of each row in the caller's list, for errors
};

// CPU tensors (the features may live on any device); the caller moves them to its device.
PaddedSide pad_side(const std::vector<const LocalFeatures*>& features, const PadOptions& options);

}  // namespace wildreid::matching
