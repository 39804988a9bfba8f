// See aliked_detect.h. Arithmetic mirrors kornia's DKD.forward op for op (the soft-argmax divides
// by the temperature and takes the residual as a matmul with the window grid, as kornia does), so
// keypoints agree to float rounding. The window patches are gathered for the chosen maxima only
// (kornia unfolds the whole map); the values are the same zero-padded ones.
#include "matching/aliked_detect.h"

#include <ATen/ATen.h>

#include <limits>

namespace wildreid::matching {

at::Tensor strict_local_maxima(const at::Tensor& map, int64_t radius) {
  const int64_t h = map.size(0), w = map.size(1);
  at::Tensor mask = at::zeros({h, w}, map.options().dtype(at::kBool));
  if (radius <= 0) return mask.fill_(true);
  if (h <= 2 * radius || w <= 2 * radius) return mask;
  at::Tensor centre = map.slice(0, radius, h - radius).slice(1, radius, w - radius);
  at::Tensor inner = at::ones_like(centre, centre.options().dtype(at::kBool));
  for (int64_t dy = -radius; dy <= radius; ++dy) {
    for (int64_t dx = -radius; dx <= radius; ++dx) {
      if (dy == 0 && dx == 0) continue;
      at::Tensor neighbour = map.slice(0, radius + dy, h - radius + dy).slice(1, radius + dx, w - radius + dx);
      inner &= centre > neighbour;
    }
  }
  mask.slice(0, radius, h - radius).slice(1, radius, w - radius).copy_(inner);
  return mask;
}

namespace {

// Flat indices (y * W + x) of the chosen maxima, in kornia's order.
at::Tensor choose_maxima(const at::Tensor& scores, const at::Tensor& is_max, const DetectOptions& o) {
  const at::Tensor flat_scores = scores.reshape({-1});
  if (o.top_k > 0) {
    at::Tensor candidates = flat_scores.masked_fill(~is_max.reshape({-1}), -std::numeric_limits<float>::infinity());
    auto [values, indices] = at::topk(candidates, std::min<int64_t>(o.top_k, candidates.numel()));
    return indices.masked_select(values > -std::numeric_limits<float>::infinity());
  }
  at::Tensor mask = is_max & (scores > scores.mean());
  if (o.score_threshold > 0) {
    at::Tensor above = is_max & (scores > o.score_threshold);
    if (above.any().item<bool>()) mask = above;
  }
  at::Tensor indices = mask.reshape({-1}).nonzero().select(1, 0);
  if (indices.numel() > o.limit) {
    at::Tensor order = std::get<1>(flat_scores.index_select(0, indices).sort(/*dim=*/0, /*descending=*/true));
    indices = indices.index_select(0, order.slice(0, 0, o.limit));
  }
  return indices;
}

}  // namespace

Detections detect_keypoints(const at::Tensor& score_map, const DetectOptions& o) {
  const int64_t h = score_map.size(2), w = score_map.size(3), r = o.radius, k = 2 * r + 1;
  const at::Tensor scores = score_map[0][0];
  at::Tensor is_max = strict_local_maxima(scores, r);
  const at::Tensor indices = choose_maxima(scores, is_max, o);
  const auto fopts = score_map.options();
  if (indices.numel() == 0) return {at::zeros({0, 2}, fopts), at::zeros({0}, fopts)};
  at::Tensor nms_xy = at::stack({indices.remainder(w), indices.div(w, "trunc")}, 1).to(at::kFloat);

  // (2r+1)^2 window of each maximum from the zero-padded map, in unfold's (row, column) order.
  at::Tensor padded = at::constant_pad_nd(scores, {r, r, r, r}, 0).reshape({-1});
  at::Tensor steps = at::arange(k, indices.options());
  at::Tensor window = (steps.view({k, 1}) * (w + 2 * r) + steps.view({1, k})).reshape({1, -1});
  at::Tensor base = indices.div(w, "trunc") * (w + 2 * r) + indices.remainder(w);
  at::Tensor patch = padded.index_select(0, (base.view({-1, 1}) + window).reshape({-1})).view({-1, k * k});

  // Window grid: (column offset, row offset) per tap, as kornia's hw_grid.
  at::Tensor offsets = at::linspace(-r, r, k, fopts);
  at::Tensor grid = at::stack({offsets.view({1, k}).expand({k, k}), offsets.view({k, 1}).expand({k, k})}, -1)
                        .reshape({k * k, 2});
  at::Tensor max_v = std::get<0>(patch.max(1)).unsqueeze(1);
  at::Tensor x_exp = ((patch - max_v) / 0.1).exp();
  at::Tensor x_sum = x_exp.sum(1, true);
  at::Tensor residual = at::matmul(x_exp, grid) / x_sum;
  at::Tensor wh = at::tensor({static_cast<float>(w - 1), static_cast<float>(h - 1)}, fopts);
  Detections d;
  d.keypoints = (nms_xy + residual) / wh * 2 - 1;
  d.scores = at::grid_sampler(score_map, d.keypoints.view({1, 1, -1, 2}), /*bilinear*/ 0, /*zeros*/ 0,
                              /*align_corners=*/true)
                 .view({-1});
  return d;
}

}  // namespace wildreid::matching
