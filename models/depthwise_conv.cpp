// See depthwise_conv.h. The Function saves the input and weight; its backward asks ATen's
// convolution_backward for the input gradient only (output_mask {true, false, false}).
#include "models/depthwise_conv.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/custom_function.h>

#include "models/depthwise_weight_grad.h"

namespace wildreid::models {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct DepthwiseConvFunction : public torch::autograd::Function<DepthwiseConvFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                            const at::Tensor& bias) {
    ctx->save_for_backward({x, weight});
    const int64_t k = weight.size(2);
    return at::conv2d(x, weight, bias, 1, k / 2, 1, x.size(1));
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    const at::Tensor& weight = saved[1];
    const int64_t C = x.size(1), k = weight.size(2);
    const at::Tensor gy = grad_outputs[0].contiguous(at::MemoryFormat::ChannelsLast);
    at::Tensor grad_x, grad_w, grad_b;
    if (ctx->needs_input_grad(0)) {
      grad_x = std::get<0>(at::convolution_backward(gy, x, weight, at::IntArrayRef{C}, {1, 1}, {k / 2, k / 2}, {1, 1},
                                                    false, {0, 0}, C, {true, false, false}));
    }
    if (ctx->needs_input_grad(1) || ctx->needs_input_grad(2)) {
      grad_w = at::empty({C, 1, k, k}, weight.options());
      grad_b = at::empty({C}, weight.options());
      const DepthwiseShape shape{x.size(0), x.size(2), x.size(3), C, k};
      depthwise_weight_grad_nhwc(x.data_ptr<float>(), gy.data_ptr<float>(), shape, grad_w.data_ptr<float>(),
                                 grad_b.data_ptr<float>());
    }
    return {grad_x, ctx->needs_input_grad(1) ? grad_w : at::Tensor(), ctx->needs_input_grad(2) ? grad_b : at::Tensor()};
  }
};

bool kernel_applies(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  if (!at::GradMode::is_enabled() || !(weight.requires_grad() || (bias.defined() && bias.requires_grad())))
    return false;
  if (!bias.defined() || x.dim() != 4 || weight.dim() != 4) return false;
  if (!x.device().is_cpu() || x.scalar_type() != at::kFloat || weight.scalar_type() != at::kFloat ||
      bias.scalar_type() != at::kFloat)
    return false;
  if (at::autocast::is_autocast_enabled(at::kCPU)) return false;
  const int64_t C = x.size(1), k = weight.size(2);
  return weight.size(0) == C && weight.size(1) == 1 && weight.size(3) == k && k % 2 == 1 &&
         x.is_contiguous(at::MemoryFormat::ChannelsLast);
}

}  // namespace

at::Tensor depthwise_conv2d_same(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  if (!kernel_applies(x, weight, bias)) return at::conv2d(x, weight, bias, 1, weight.size(2) / 2, 1, x.size(1));
  return DepthwiseConvFunction::apply(x, weight, bias);
}

}  // namespace wildreid::models
