// ConvNeXt's depthwise convolution (groups = channels, stride 1, odd kernel, 'same' padding) with a
// backward that takes the weight and bias gradients from this project's NHWC kernel
// (depthwise_weight_grad.h) and only the input gradient from ATen, whose depthwise
// backward-weights is the slow part on CPU. The forward is at::conv2d's. Values equal
// at::conv2d(x, weight, bias, 1, k / 2, 1, channels) up to float summation order. Calls it is not
// written for go to at::conv2d unchanged: not a CPU float tensor in channels-last memory, autocast
// on, or no weight gradient wanted.
#pragma once
#include <ATen/Tensor.h>

namespace wildreid::models {

at::Tensor depthwise_conv2d_same(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);

}  // namespace wildreid::models
