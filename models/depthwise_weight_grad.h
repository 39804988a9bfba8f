// The weight and bias gradients of a depthwise convolution (groups = channels, stride 1, odd
// square kernel, 'same' zero padding) on channels-last (NHWC) float maps, written for the shapes
// ConvNeXt trains: oneDNN's backward-weights for a depthwise 7x7 on NHWC maps took about 18x the
// forward on this project's CPU (convnext_atto at 128 px: ~200 ms of a ~1 s step, on 4x4 maps
// 45x), while the input gradient it computes fast. Here the channel dimension is the innermost,
// contiguous, vectorised loop: every output pixel's gradient vector is multiplied into the k*k
// input vectors around it and accumulated in a [k*k][channels] block that stays in cache.
#pragma once
#include <cstdint>

namespace wildreid::models {

struct DepthwiseShape {
  int64_t batch = 0, height = 0, width = 0, channels = 0, kernel = 0;
};

// x, grad_out: [batch, height, width, channels] contiguous. Writes grad_weight as
// [channels][kernel][kernel] (the layout of a contiguous [C, 1, k, k] weight) and, when not null,
// grad_bias [channels]. Runs on LibTorch's intra-op threads.
void depthwise_weight_grad_nhwc(const float* x, const float* grad_out, const DepthwiseShape& shape,
                                float* grad_weight, float* grad_bias);

}  // namespace wildreid::models
