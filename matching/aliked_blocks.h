// ALIKED's backbone blocks with kornia's parameter names, so a kornia state dict or a published
// ALIKED checkpoint loads by name: a plain or deformable 3x3 convolution (`conv1.weight`, or
// `conv1.offset_conv.{weight,bias}` + `conv1.regular_conv.weight`), BatchNorm (`bn1.*`), SELU.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>

namespace wildreid::matching {

// A 3x3, stride-1, padding-1, bias-free convolution, deformable (offsets predicted by a 3x3
// conv with bias, clamped to +-max(H, W) / 4 as in kornia) or plain.
class AlikedConvImpl : public torch::nn::Module {
 public:
  AlikedConvImpl(int64_t in, int64_t out, bool deformable);
  at::Tensor forward(const at::Tensor& x);

 private:
  bool deformable_;
  at::Tensor weight_;                       // plain: `<name>.weight`
  torch::nn::Conv2d offset_conv_{nullptr};  // deformable
  torch::nn::Conv2d regular_conv_{nullptr};
};
TORCH_MODULE(AlikedConv);

// conv-bn-selu twice (block1).
class AlikedConvBlockImpl : public torch::nn::Module {
 public:
  AlikedConvBlockImpl(int64_t in, int64_t out, bool deformable);
  at::Tensor forward(const at::Tensor& x);

 private:
  AlikedConv conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
};
TORCH_MODULE(AlikedConvBlock);

// ResNet basic block with a 1x1 (biased) projection shortcut `downsample` (blocks 2-4).
class AlikedResBlockImpl : public torch::nn::Module {
 public:
  AlikedResBlockImpl(int64_t in, int64_t out, bool deformable);
  at::Tensor forward(const at::Tensor& x);

 private:
  AlikedConv conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Conv2d downsample_{nullptr};
};
TORCH_MODULE(AlikedResBlock);

}  // namespace wildreid::matching
