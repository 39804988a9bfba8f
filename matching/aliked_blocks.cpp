// See aliked_blocks.h. A plain AlikedConv holds its weight directly (`<name>.weight`), as kornia's
// get_conv returns an nn.Conv2d in place; a deformable one holds the two convolutions by kornia's
// DeformableConv2d names.
#include "matching/aliked_blocks.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "matching/deform_conv.h"

namespace wildreid::matching {
namespace {

torch::nn::Conv2dOptions conv3x3(int64_t in, int64_t out, bool bias) {
  return torch::nn::Conv2dOptions(in, out, 3).stride(1).padding(1).bias(bias);
}

}  // namespace

AlikedConvImpl::AlikedConvImpl(int64_t in, int64_t out, bool deformable) : deformable_(deformable) {
  if (deformable) {
    offset_conv_ = register_module("offset_conv", torch::nn::Conv2d(conv3x3(in, 2 * 9, true)));
    regular_conv_ = register_module("regular_conv", torch::nn::Conv2d(conv3x3(in, out, false)));
  } else {
    weight_ = register_parameter("weight", torch::nn::Conv2d(conv3x3(in, out, false))->weight.detach().clone());
  }
}

at::Tensor AlikedConvImpl::forward(const at::Tensor& x) {
  if (!deformable_) return at::conv2d(x, weight_, {}, 1, 1);
  const double max_offset = std::max(x.size(2), x.size(3)) / 4.0;
  at::Tensor offset = offset_conv_->forward(x).clamp(-max_offset, max_offset);
  return deform_conv2d(x, offset, regular_conv_->weight, at::Tensor(), DeformConvGeometry{});
}

AlikedConvBlockImpl::AlikedConvBlockImpl(int64_t in, int64_t out, bool deformable) {
  conv1_ = register_module("conv1", AlikedConv(in, out, deformable));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(out));
  conv2_ = register_module("conv2", AlikedConv(out, out, deformable));
  bn2_ = register_module("bn2", torch::nn::BatchNorm2d(out));
}

at::Tensor AlikedConvBlockImpl::forward(const at::Tensor& x) {
  at::Tensor y = at::selu(bn1_->forward(conv1_->forward(x)));
  return at::selu(bn2_->forward(conv2_->forward(y)));
}

AlikedResBlockImpl::AlikedResBlockImpl(int64_t in, int64_t out, bool deformable) {
  conv1_ = register_module("conv1", AlikedConv(in, out, deformable));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(out));
  conv2_ = register_module("conv2", AlikedConv(out, out, deformable));
  bn2_ = register_module("bn2", torch::nn::BatchNorm2d(out));
  downsample_ = register_module("downsample", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1)));
}

at::Tensor AlikedResBlockImpl::forward(const at::Tensor& x) {
  at::Tensor y = at::selu(bn1_->forward(conv1_->forward(x)));
  y = bn2_->forward(conv2_->forward(y));
  return at::selu(y + downsample_->forward(x));
}

}  // namespace wildreid::matching
