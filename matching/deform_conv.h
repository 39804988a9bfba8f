// Deformable 2-D convolution (DCNv1: offsets, no modulation mask, one offset group), as ALIKED's
// backbone uses it, with the semantics of torchvision.ops.deform_conv2d and of kornia 0.9's
// pure-torch port: each kernel tap samples the input bilinearly at its grid position plus a
// learned (dy, dx), corners outside the input count as zero.
// On CPU a dedicated kernel writes the sampled columns channels-last (four contiguous corner rows
// per tap, vectorisable) and one GEMM applies the weight; other devices use the same arithmetic
// as kornia in ATen ops (gathers), which also serves as the CPU kernel's reference in tests.
#pragma once
#include <ATen/Tensor.h>

#include <optional>

namespace wildreid::matching {

struct DeformConvGeometry {
  int64_t stride = 1, padding = 1, dilation = 1;  // same on both axes
};

// input [B, C, H, W]; offset [B, 2 * kH * kW, Ho, Wo], (dy, dx) interleaved per tap;
// weight [Cout, C, kH, kW]; bias [Cout] or undefined. Returns [B, Cout, Ho, Wo].
at::Tensor deform_conv2d(const at::Tensor& input, const at::Tensor& offset, const at::Tensor& weight,
                         const at::Tensor& bias, const DeformConvGeometry& geometry);

// The device-independent ATen formulation (what non-CPU devices run).
at::Tensor deform_conv2d_reference(const at::Tensor& input, const at::Tensor& offset, const at::Tensor& weight,
                                   const at::Tensor& bias, const DeformConvGeometry& geometry);

}  // namespace wildreid::matching
