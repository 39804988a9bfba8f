// See aliked_descriptor_head.h. The patch corner follows kornia's get_patches, including its
// truncation of (x - K/2 + 1) and its clamp to [0, W - 1 - K] (so the last column and row are
// never inside a patch), because the descriptor depends on it.
#include "matching/aliked_descriptor_head.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/activation.h>

#include <algorithm>

namespace wildreid::matching {

AlikedDescriptorHeadImpl::AlikedDescriptorHeadImpl(int64_t dim, int64_t patch, int64_t positions)
    : patch_(patch), positions_(positions) {
  const int64_t channels = 2 * positions;
  offset_conv_ = register_module(
      "offset_conv",
      torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(dim, channels, patch).bias(true)),
                            torch::nn::SELU(),
                            torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 1).bias(true))));
  sf_conv_ = register_module("sf_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(dim, dim, 1).bias(false)));
  agg_weights_ = register_parameter("agg_weights", at::rand({positions, dim, dim}));
}

at::Tensor AlikedDescriptorHeadImpl::forward(const at::Tensor& feature_map, const at::Tensor& keypoints) {
  const int64_t c = feature_map.size(1), h = feature_map.size(2), w = feature_map.size(3), n = keypoints.size(0);
  if (n == 0) return at::zeros({0, c}, feature_map.options());
  const at::Tensor map = feature_map[0];
  at::Tensor wh = at::tensor({static_cast<float>(w - 1), static_cast<float>(h - 1)}, keypoints.options()).view({1, 2});
  at::Tensor kpts_wh = (keypoints / 2 + 0.5) * wh;
  const double max_offset = std::max(h, w) / 4.0;

  // [N, C, K, K] patches with kornia's corner rule.
  at::Tensor patch;
  if (patch_ > 1) {
    at::Tensor corner = (kpts_wh.to(at::kLong) - patch_ / 2.0 + 1).to(at::kLong);
    at::Tensor cx = corner.select(1, 0).clamp(0, w - 1 - patch_), cy = corner.select(1, 1).clamp(0, h - 1 - patch_);
    at::Tensor steps = at::arange(patch_, corner.options());
    at::Tensor rows = cy.view({n, 1, 1}) + steps.view({1, patch_, 1});
    at::Tensor cols = cx.view({n, 1, 1}) + steps.view({1, 1, patch_});
    at::Tensor flat = (rows * w + cols).reshape({-1});
    patch = map.reshape({c, h * w}).index_select(1, flat).view({c, n, patch_, patch_}).permute({1, 0, 2, 3});
  } else {
    at::Tensor xy = kpts_wh.to(at::kLong);
    patch = map.reshape({c, h * w}).index_select(1, xy.select(1, 1) * w + xy.select(1, 0)).t().reshape({n, c, 1, 1});
  }
  at::Tensor offset = offset_conv_->forward(patch).clamp(-max_offset, max_offset);
  offset = offset.select(3, 0).select(2, 0).view({n, 2, positions_}).permute({0, 2, 1});  // [N, M, 2]

  at::Tensor pos = kpts_wh.unsqueeze(1) + offset;
  pos = 2.0 * pos / wh.view({1, 1, 2}) - 1;
  at::Tensor sampled = at::grid_sampler(feature_map, pos.reshape({1, n * positions_, 1, 2}), 0, 0, true);
  sampled = sampled.reshape({c, n, positions_, 1}).permute({1, 0, 2, 3});  // [N, C, M, 1]
  at::Tensor features = at::selu(sf_conv_->forward(sampled)).squeeze(-1);  // [N, C, M]
  at::Tensor descriptors = at::einsum("ncp,pcd->nd", {features, agg_weights_});
  return descriptors / descriptors.norm(2, 1, true).clamp_min(1e-12);
}

}  // namespace wildreid::matching
