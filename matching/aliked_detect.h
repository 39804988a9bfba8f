// ALIKED's keypoint detection (kornia 0.9's DKD) on one score map: strict local maxima in a
// (2r+1)^2 window away from the border, chosen by top-k or by threshold (with the image-mean
// fallback), each moved by a soft-argmax (temperature 0.1) over its window and scored by the map
// read bilinearly there. Kornia keeps strict maxima only (its docstring explains how that departs
// from the original ALIKED's simple_nms); we follow kornia, the oracle of our tests.
#pragma once
#include <ATen/Tensor.h>

#include <cstdint>

namespace wildreid::matching {

struct DetectOptions {
  int64_t radius = 2;         // NMS window 2r+1
  int64_t top_k = -1;         // > 0: the top_k strongest maxima; otherwise threshold mode
  double score_threshold = 0.2;  // threshold mode: > 0 keeps maxima above it (else above the mean)
  int64_t limit = 20000;      // threshold mode: at most this many, strongest first
};

struct Detections {
  at::Tensor keypoints;  // [N, 2] (x, y) normalised to [-1, 1] over (W - 1, H - 1)
  at::Tensor scores;     // [N]
};

// score_map [1, 1, H, W] in (0, 1).
Detections detect_keypoints(const at::Tensor& score_map, const DetectOptions& options);

// [H, W] bool: position strictly greater than every other value of its (2r+1)^2 window; the
// first and last r rows and columns are never maxima.
at::Tensor strict_local_maxima(const at::Tensor& map, int64_t radius);

}  // namespace wildreid::matching
