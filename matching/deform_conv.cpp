// See deform_conv.h. The CPU kernel computes, per output pixel and tap, the four bilinear corner
// weights once (zero for a corner outside the input) and blends the four channel rows of a
// channels-last copy of the input; columns are laid out [B, Ho*Wo, taps * C] so the weight,
// permuted to (tap, channel) order, applies as one batched GEMM.
#include "matching/deform_conv.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <stdexcept>

namespace wildreid::matching {
namespace {

struct Shapes {
  int64_t batch, channels, height, width, out_channels, kh, kw, out_h, out_w;
};

Shapes check_shapes(const at::Tensor& input, const at::Tensor& offset, const at::Tensor& weight,
                    const DeformConvGeometry& g) {
  if (input.dim() != 4 || weight.dim() != 4 || offset.dim() != 4)
    throw std::invalid_argument("deform_conv2d: input, offset and weight must be 4-D");
  Shapes s{input.size(0), input.size(1), input.size(2), input.size(3), weight.size(0), weight.size(2), weight.size(3), 0, 0};
  if (weight.size(1) != s.channels)
    throw std::invalid_argument("deform_conv2d: weight expects " + std::to_string(weight.size(1)) +
                                " input channels, input has " + std::to_string(s.channels));
  s.out_h = (s.height + 2 * g.padding - g.dilation * (s.kh - 1) - 1) / g.stride + 1;
  s.out_w = (s.width + 2 * g.padding - g.dilation * (s.kw - 1) - 1) / g.stride + 1;
  if (offset.size(0) != s.batch || offset.size(1) != 2 * s.kh * s.kw || offset.size(2) != s.out_h ||
      offset.size(3) != s.out_w)
    throw std::invalid_argument("deform_conv2d: offset must be [" + std::to_string(s.batch) + ", " +
                                std::to_string(2 * s.kh * s.kw) + ", " + std::to_string(s.out_h) + ", " +
                                std::to_string(s.out_w) + "], got " + c10::str(offset.sizes()));
  return s;
}

// [B, Ho*Wo, taps * C] sampled columns from a channels-last float input.
at::Tensor sample_columns_cpu(const at::Tensor& input, const at::Tensor& offset, const Shapes& s,
                              const DeformConvGeometry& g) {
  const at::Tensor in = input.permute({0, 2, 3, 1}).contiguous();  // [B, H, W, C]
  const at::Tensor off = offset.contiguous();
  const int64_t taps = s.kh * s.kw, pixels = s.out_h * s.out_w, C = s.channels;
  at::Tensor cols = at::empty({s.batch, pixels, taps * C}, input.options());
  const float* in_base = in.data_ptr<float>();
  const float* off_base = off.data_ptr<float>();
  float* col_base = cols.data_ptr<float>();
  at::parallel_for(0, s.batch * pixels, 16, [&](int64_t begin, int64_t end) {
    for (int64_t bn = begin; bn < end; ++bn) {
      const int64_t b = bn / pixels, n = bn % pixels, oh = n / s.out_w, ow = n % s.out_w;
      const float* image = in_base + b * s.height * s.width * C;
      const float* offs = off_base + b * 2 * taps * pixels + n;
      float* out = col_base + bn * taps * C;
      for (int64_t k = 0; k < taps; ++k, out += C) {
        const float y = static_cast<float>(oh * g.stride - g.padding + (k / s.kw) * g.dilation) + offs[2 * k * pixels];
        const float x = static_cast<float>(ow * g.stride - g.padding + (k % s.kw) * g.dilation) +
                        offs[(2 * k + 1) * pixels];
        const float fy = std::floor(y), fx = std::floor(x);
        const float ly = y - fy, lx = x - fx;
        const int64_t y0 = static_cast<int64_t>(fy), x0 = static_cast<int64_t>(fx);
        const float corner_weight[4] = {(1 - ly) * (1 - lx), (1 - ly) * lx, ly * (1 - lx), ly * lx};
        const float* rows[4];
        float weights[4];
        int used = 0;
        for (int c = 0; c < 4; ++c) {
          const int64_t yy = y0 + c / 2, xx = x0 + c % 2;
          if (yy < 0 || yy >= s.height || xx < 0 || xx >= s.width) continue;
          rows[used] = image + (yy * s.width + xx) * C;
          weights[used++] = corner_weight[c];
        }
        for (int64_t ch = 0; ch < C; ++ch) out[ch] = 0.f;
        for (int u = 0; u < used; ++u) {
          const float w = weights[u];
          const float* r = rows[u];
          for (int64_t ch = 0; ch < C; ++ch) out[ch] += w * r[ch];
        }
      }
    }
  });
  return cols;
}

}  // namespace

at::Tensor deform_conv2d_reference(const at::Tensor& input, const at::Tensor& offset, const at::Tensor& weight,
                                   const at::Tensor& bias, const DeformConvGeometry& g) {
  const Shapes s = check_shapes(input, offset, weight, g);
  const int64_t taps = s.kh * s.kw;
  const auto opts = input.options();
  at::Tensor off = offset.reshape({s.batch, taps, 2, s.out_h, s.out_w});
  at::Tensor base_h = (at::arange(s.out_h, opts) * g.stride - g.padding).view({1, 1, s.out_h, 1});
  at::Tensor base_w = (at::arange(s.out_w, opts) * g.stride - g.padding).view({1, 1, 1, s.out_w});
  at::Tensor tap_h = (at::arange(s.kh, opts) * g.dilation).repeat_interleave(s.kw).view({1, taps, 1, 1});
  at::Tensor tap_w = (at::arange(s.kw, opts) * g.dilation).repeat({s.kh}).view({1, taps, 1, 1});
  at::Tensor y = base_h + tap_h + off.select(2, 0);  // [B, taps, Ho, Wo]
  at::Tensor x = base_w + tap_w + off.select(2, 1);
  at::Tensor y0 = y.floor(), x0 = x.floor();
  at::Tensor ly = y - y0, lx = x - x0;
  at::Tensor y0l = y0.to(at::kLong), x0l = x0.to(at::kLong);
  at::Tensor flat = input.reshape({s.batch, s.channels, s.height * s.width});
  at::Tensor sampled = at::zeros({s.batch, s.channels, taps * s.out_h * s.out_w}, opts);
  for (int corner = 0; corner < 4; ++corner) {
    at::Tensor yy = y0l + corner / 2, xx = x0l + corner % 2;
    at::Tensor valid = (yy >= 0) & (yy < s.height) & (xx >= 0) & (xx < s.width);
    at::Tensor wy = corner / 2 ? ly : 1 - ly, wx = corner % 2 ? lx : 1 - lx;
    at::Tensor w = (wy * wx * valid.to(opts.dtype())).reshape({s.batch, 1, -1});
    at::Tensor index = (yy.clamp(0, s.height - 1) * s.width + xx.clamp(0, s.width - 1)).reshape({s.batch, 1, -1});
    sampled += at::gather(flat, 2, index.expand({-1, s.channels, -1})) * w;
  }
  // [B, C * taps, Ho * Wo] against weight [Cout, C * taps].
  at::Tensor out = at::matmul(weight.reshape({s.out_channels, s.channels * taps}),
                              sampled.view({s.batch, s.channels * taps, s.out_h * s.out_w}));
  out = out.view({s.batch, s.out_channels, s.out_h, s.out_w});
  return bias.defined() ? out + bias.view({1, -1, 1, 1}) : out;
}

at::Tensor deform_conv2d(const at::Tensor& input, const at::Tensor& offset, const at::Tensor& weight,
                         const at::Tensor& bias, const DeformConvGeometry& g) {
  if (!input.device().is_cpu() || input.scalar_type() != at::kFloat || offset.scalar_type() != at::kFloat)
    return deform_conv2d_reference(input, offset, weight, bias, g);
  const Shapes s = check_shapes(input, offset, weight, g);
  at::Tensor cols = sample_columns_cpu(input, offset, s, g);  // [B, P, taps * C]
  // weight [Cout, C, kh, kw] -> [(kh, kw, C), Cout] to match the column order.
  at::Tensor w = weight.permute({2, 3, 1, 0}).reshape({s.kh * s.kw * s.channels, s.out_channels});
  at::Tensor out = at::matmul(cols, w);  // [B, P, Cout]
  if (bias.defined()) out += bias;
  return out.view({s.batch, s.out_h, s.out_w, s.out_channels}).permute({0, 3, 1, 2}).contiguous();
}

}  // namespace wildreid::matching
