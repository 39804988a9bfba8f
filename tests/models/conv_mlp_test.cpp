// ConvMlp's tokens-last form (MlpImpl::forward_tokens_last, what ConvNeXt-atto blocks run on
// channels-last activations) against the 1x1 convolutions it replaces: same outputs, and the same
// gradients into the input and into the [out, in, 1, 1] weights, contiguous or channels-last.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "models/layers.h"

using namespace wildreid::models;

namespace {

struct Pass {
  at::Tensor out, grad_input, grad_fc1, grad_fc2, grad_bias1;
};

// One forward + backward with a fixed upstream gradient; `tokens_last` runs the linear form on NHWC.
Pass run(Mlp& mlp, const at::Tensor& nchw, const at::Tensor& upstream, bool tokens_last) {
  for (auto& p : mlp->parameters()) p.mutable_grad() = at::Tensor();
  at::Tensor x = nchw.detach().clone().requires_grad_(true);
  at::Tensor out = tokens_last ? mlp->forward_tokens_last(x.permute({0, 2, 3, 1})).permute({0, 3, 1, 2})
                               : mlp->forward(x);
  (out * upstream).sum().backward();
  auto params = mlp->named_parameters();
  return {out.detach(), x.grad(), params["fc1.weight"].grad().clone(), params["fc2.weight"].grad().clone(),
          params["fc1.bias"].grad().clone()};
}

// An Mlp with N(0, 0.2) parameters drawn from `seed` (the layers are created uninitialised).
Mlp random_mlp(int64_t in, int64_t hidden, bool conv, uint64_t seed) {
  at::manual_seed(seed);
  Mlp mlp(in, hidden, in, conv);
  at::NoGradGuard no_grad;
  for (auto& p : mlp->parameters()) p.normal_(0.0, 0.2);
  return mlp;
}

double max_diff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

void expect_same(const Pass& conv, const Pass& linear) {
  EXPECT_LE(max_diff(conv.out, linear.out), 1e-5);
  EXPECT_LE(max_diff(conv.grad_input, linear.grad_input), 1e-5);
  EXPECT_LE(max_diff(conv.grad_fc1, linear.grad_fc1), 1e-4);
  EXPECT_LE(max_diff(conv.grad_fc2, linear.grad_fc2), 1e-4);
  EXPECT_LE(max_diff(conv.grad_bias1, linear.grad_bias1), 1e-4);
  EXPECT_EQ(linear.grad_fc1.sizes(), (std::vector<int64_t>{24, 8, 1, 1}));  // the conv weight's own shape
}

}  // namespace

TEST(ConvMlp, TokensLastMatchesTheConvolutionsForwardAndBackward) {
  Mlp mlp = random_mlp(8, 24, /*conv=*/true, 3);
  at::Tensor x = at::randn({2, 8, 5, 6});
  at::Tensor upstream = at::randn({2, 8, 5, 6});
  expect_same(run(mlp, x, upstream, false), run(mlp, x, upstream, true));
  // On channels-last activations too (what ConvNeXt's LayerNorm2d and depthwise conv produce).
  at::Tensor x_cl = x.contiguous(at::MemoryFormat::ChannelsLast);
  expect_same(run(mlp, x_cl, upstream, false), run(mlp, x_cl, upstream, true));
}

TEST(ConvMlp, TokensLastUsesChannelsLastWeights) {
  Mlp mlp = random_mlp(8, 24, /*conv=*/true, 4);
  at::Tensor x = at::randn({2, 8, 4, 4});
  at::Tensor upstream = at::randn({2, 8, 4, 4});
  Pass before = run(mlp, x, upstream, true);
  to_channels_last(*mlp);
  expect_same(before, run(mlp, x, upstream, true));
}

TEST(ConvMlp, PlainMlpTokensLastIsItsForward) {
  Mlp mlp = random_mlp(8, 16, /*conv=*/false, 5);
  at::NoGradGuard no_grad;
  at::Tensor x = at::randn({3, 7, 8});
  EXPECT_TRUE(at::equal(mlp->forward(x), mlp->forward_tokens_last(x)));
}
