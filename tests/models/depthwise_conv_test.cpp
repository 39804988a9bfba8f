// ConvNeXt's depthwise convolution with its own weight-gradient kernel (models/depthwise_conv.h):
// output and input/weight/bias gradients against at::conv2d's autograd for kernel 7 and 3, channel
// counts that are and are not multiples of the vector width or of the 128-channel block, maps
// smaller than the kernel, batch 1, and 1 or 2 threads (the batch split); and the calls it does
// not take (NCHW input, no gradient wanted) give at::conv2d's result without its Function.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <tuple>

#include "models/depthwise_conv.h"

using wildreid::models::depthwise_conv2d_same;

namespace {

struct Case {
  int64_t batch, channels, height, width, kernel;
  int threads;
};

std::string case_name(const Case& c) {
  return "n" + std::to_string(c.batch) + "_c" + std::to_string(c.channels) + "_" + std::to_string(c.height) + "x" +
         std::to_string(c.width) + "_k" + std::to_string(c.kernel) + "_threads" + std::to_string(c.threads);
}
// gtest and CTest's test discovery name each case by this.
void PrintTo(const Case& c, std::ostream* os) { *os << case_name(c); }

class DepthwiseConv : public ::testing::TestWithParam<Case> {};

TEST_P(DepthwiseConv, MatchesConv2dAndItsGradients) {
  const Case c = GetParam();
  const int previous_threads = at::get_num_threads();
  at::set_num_threads(c.threads);
  at::manual_seed(11);
  const at::Tensor x0 = at::randn({c.batch, c.channels, c.height, c.width}).contiguous(at::MemoryFormat::ChannelsLast);
  const at::Tensor w0 = at::randn({c.channels, 1, c.kernel, c.kernel}) * 0.2;
  const at::Tensor b0 = at::randn({c.channels});
  const at::Tensor g = at::randn({c.batch, c.channels, c.height, c.width}).contiguous(at::MemoryFormat::ChannelsLast);

  auto run = [&](bool ours) {
    at::Tensor x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true),
               b = b0.clone().requires_grad_(true);
    at::Tensor y = ours ? depthwise_conv2d_same(x, w, b) : at::conv2d(x, w, b, 1, c.kernel / 2, 1, c.channels);
    EXPECT_EQ(y.grad_fn() != nullptr, true);
    y.backward(g);
    return std::make_tuple(y.detach(), x.grad(), w.grad(), b.grad(), y.grad_fn()->name());
  };
  const auto [y_ref, gx_ref, gw_ref, gb_ref, ref_fn] = run(false);
  const auto [y, gx, gw, gb, fn] = run(true);
  at::set_num_threads(previous_threads);
  EXPECT_NE(fn, ref_fn) << "the kernel's Function was not used";
  EXPECT_TRUE(at::equal(y, y_ref));
  EXPECT_TRUE(at::equal(gx, gx_ref));
  const double w_scale = gw_ref.abs().max().item<double>(), b_scale = gb_ref.abs().max().item<double>();
  EXPECT_LT((gw - gw_ref).abs().max().item<double>(), 2e-5 * w_scale) << "weight gradient";
  EXPECT_LT((gb - gb_ref).abs().max().item<double>(), 2e-5 * b_scale) << "bias gradient";
  EXPECT_EQ(gw.sizes(), gw_ref.sizes());
}

INSTANTIATE_TEST_SUITE_P(Shapes, DepthwiseConv,
                         ::testing::Values(Case{4, 40, 32, 32, 7, 1},    // convnext_atto stage 1
                                           Case{4, 40, 32, 32, 7, 2},    // the same, batch split on 2 threads
                                           Case{3, 320, 4, 4, 7, 1},     // map smaller than the kernel, 3 blocks
                                           Case{3, 200, 5, 6, 7, 2},     // 2 blocks of 100, non-square
                                           Case{1, 13, 9, 7, 3, 1},      // kernel 3, odd channel count
                                           Case{2, 8, 1, 1, 7, 2}),      // 1x1 map: only the centre tap
                         [](const ::testing::TestParamInfo<Case>& info) { return case_name(info.param); });

TEST(DepthwiseConvFallback, NchwInputAndInferenceTakeConv2d) {
  at::manual_seed(3);
  const at::Tensor w = (at::randn({16, 1, 7, 7}) * 0.2).requires_grad_(true);
  const at::Tensor b = at::randn({16}).requires_grad_(true);
  const at::Tensor nchw = at::randn({2, 16, 8, 8});
  const at::Tensor y = depthwise_conv2d_same(nchw, w, b);
  EXPECT_EQ(y.grad_fn()->name(), at::conv2d(nchw, w, b, 1, 3, 1, 16).grad_fn()->name());
  at::NoGradGuard no_grad;
  const at::Tensor nhwc = nchw.contiguous(at::MemoryFormat::ChannelsLast);
  const at::Tensor z = depthwise_conv2d_same(nhwc, w, b);
  EXPECT_FALSE(z.requires_grad());
  EXPECT_TRUE(at::equal(z, at::conv2d(nhwc, w, b, 1, 3, 1, 16)));
}

}  // namespace
