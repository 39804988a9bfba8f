// ALIKED's sparse deformable descriptor head (SDDH) as in kornia 0.9 (conv2d=False, mask=False,
// the configuration of every published variant): from the KxK feature patch at a keypoint a small
// conv net predicts M sampling offsets; the feature map is sampled there bilinearly, projected
// (`sf_conv`, SELU) and aggregated by per-position weights (`agg_weights` [M, C, C]) into one
// L2-normalised descriptor. Parameter names are kornia's (`desc_head.*`).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

namespace wildreid::matching {

class AlikedDescriptorHeadImpl : public torch::nn::Module {
 public:
  AlikedDescriptorHeadImpl(int64_t dim, int64_t patch, int64_t positions);
  // feature_map [1, C, H, W]; keypoints [N, 2] normalised to [-1, 1]. Returns [N, C].
  at::Tensor forward(const at::Tensor& feature_map, const at::Tensor& keypoints);

 private:
  int64_t patch_, positions_;
  torch::nn::Sequential offset_conv_{nullptr};
  torch::nn::Conv2d sf_conv_{nullptr};
  at::Tensor agg_weights_;
};
TORCH_MODULE(AlikedDescriptorHead);

}  // namespace wildreid::matching
