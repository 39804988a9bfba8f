// Activation checkpointing: the same gradients as without it (also with drop-path, which needs the
// RNG state restored), no stale autocast weight casts left by the recompute, and a lower peak of live CPU tensor bytes during forward+backward, measured
// by a counting wrapper installed as LibTorch's CPU allocator (models/cpu_memory_counter.h).
#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>

#include "models/activation_checkpoint.h"
#include "models/cpu_memory_counter.h"
#include "models/registry.h"

using namespace wildreid::models;

namespace {

ModelOptions vit_options(bool checkpointing, double drop_path, int64_t img_size = 64) {
  ModelOptions o;
  o.num_classes = 5;
  o.arch_overrides = R"({"img_size": )" + std::to_string(img_size) +
                     R"(, "patch_size": 8, "embed_dim": 64, "depth": 6, "num_heads": 4})";
  o.grad_checkpointing = checkpointing;
  o.drop_path_rate = drop_path;
  return o;
}

std::vector<at::Tensor> grads_of(const std::string& arch, ModelOptions o, const at::Tensor& x, uint64_t seed) {
  at::manual_seed(0);
  auto model = create_model(arch, o);
  model->train();
  at::manual_seed(seed);
  model->forward(x).pow(2).sum().backward();
  std::vector<at::Tensor> g;
  for (auto& p : model->parameters()) g.push_back(p.grad().clone());
  return g;
}

void expect_same_grads(const std::string& arch, ModelOptions plain, ModelOptions ckpt, const at::Tensor& x) {
  auto a = grads_of(arch, plain, x, 7);
  auto b = grads_of(arch, ckpt, x, 7);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_TRUE(a[i].defined() && b[i].defined()) << i;
    EXPECT_TRUE(at::allclose(a[i], b[i], 1e-5, 1e-6)) << arch << " parameter " << i << " max diff "
                                                      << (a[i] - b[i]).abs().max().item<double>();
  }
}

}  // namespace

TEST(ActivationCheckpointing, ViTGradientsMatchWithDropPath) {
  at::manual_seed(3);
  at::Tensor x = at::randn({2, 3, 32, 32});
  expect_same_grads("vit_tiny_patch16_224", vit_options(false, 0.2, 32), vit_options(true, 0.2, 32), x);
}

TEST(ActivationCheckpointing, ConvNeXtGradientsMatch) {
  ModelOptions plain;
  plain.num_classes = 4;
  plain.arch_overrides = R"({"depths": [1, 2, 1, 1], "dims": [8, 16, 24, 32]})";
  ModelOptions ckpt = plain;
  ckpt.grad_checkpointing = true;
  at::manual_seed(4);
  expect_same_grads("convnext_tiny", plain, ckpt, at::randn({2, 3, 32, 32}));
}

TEST(ActivationCheckpointing, LowersPeakTensorMemory) {
  auto peak_of = [&](bool ckpt) {
    at::manual_seed(0);
    auto model = create_model("vit_tiny_patch16_224", vit_options(ckpt, 0.0));
    model->train();
    at::Tensor x = at::randn({8, 3, 64, 64});
    CpuMemoryCounter counting;
    int64_t base_bytes = counting.current();
    counting.reset_peak();
    model->forward(x).sum().backward();
    return counting.peak() - base_bytes;
  };
  int64_t plain = peak_of(false);
  int64_t ckpt = peak_of(true);
  std::printf("peak live tensor bytes during forward+backward (ViT depth 6, batch 8, 64px): plain %lld, "
              "checkpointed %lld (%.2fx)\n",
              static_cast<long long>(plain), static_cast<long long>(ckpt), double(plain) / double(ckpt));
  EXPECT_GT(plain, 0);
  EXPECT_GT(ckpt, 0);
  EXPECT_LT(ckpt, plain);
}

// A block that returns a view (as MaxViT's NHWC -> NCHW permute and Swin's reshape do) must not
// keep its recorded graph alive through the view's base: after the checkpointed forward only the
// output is held, not the intermediates the block's own backward would need.
TEST(ActivationCheckpointing, BlockReturningAViewKeepsNoActivations) {
  at::manual_seed(0);
  at::Tensor x = at::randn({64, 1024}).requires_grad_(true);
  at::Tensor w = at::randn({1024}).requires_grad_(true);  // a parameter: the block records a graph
  const int64_t tensor_bytes = x.numel() * static_cast<int64_t>(sizeof(float));
  // mul saves its input, sin its input, exp its result: a recorded graph would hold several
  // tensors of x's size besides the output.
  BlockFn block = [&w](const at::Tensor& t) { return t.mul(w).sin().exp().sin().exp().t(); };
  CpuMemoryCounter counting;
  const int64_t before = counting.current();
  at::Tensor y = checkpoint_block(block, x);
  const int64_t held = counting.current() - before;
  std::printf("held after a checkpointed forward returning a view: %lld bytes (one tensor: %lld)\n",
              static_cast<long long>(held), static_cast<long long>(tensor_bytes));
  EXPECT_LE(held, tensor_bytes + tensor_bytes / 10) << "the block's activations outlived its checkpointed forward";
  y.sum().backward();
  EXPECT_TRUE(x.grad().defined());
}

namespace {
// An autocast region entered and left as torch.autocast does (and trainer/amp.h's AutocastScope,
// which this library cannot see): nesting count, cast cache cleared when the outermost one exits.
struct Bf16AutocastRegion {
  Bf16AutocastRegion() {
    at::autocast::set_autocast_enabled(at::kCPU, true);
    at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
    at::autocast::increment_nesting();
  }
  ~Bf16AutocastRegion() {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(at::kCPU, false);
  }
};
}  // namespace

// The recompute in backward is an autocast region of its own: the low-precision weight casts it
// makes must not outlive it, or the next step's forward (after the weights changed in place, as
// the optimizer changes them) runs on the previous step's weights.
TEST(ActivationCheckpointing, RecomputeUnderAutocastLeavesNoStaleWeightCasts) {
  at::manual_seed(0);
  at::Tensor w = at::randn({16, 16}).requires_grad_(true);
  at::Tensor x = at::randn({4, 16}).requires_grad_(true);
  BlockFn block = [&w](const at::Tensor& t) { return at::linear(t, w); };
  for (int step = 0; step < 3; ++step) {
    at::Tensor y;
    {
      Bf16AutocastRegion autocast;
      y = checkpoint_block(block, x);
    }
    const at::Tensor expected = at::linear(x.detach().to(at::kBFloat16), w.detach().to(at::kBFloat16));
    EXPECT_LT((y.detach().to(at::kFloat) - expected.to(at::kFloat)).abs().max().item<double>(), 1e-2)
        << "step " << step << ": the checkpointed forward did not use the current weights";
    y.to(at::kFloat).pow(2).sum().backward();
    {
      at::NoGradGuard no_grad;
      w.sub_(w.grad() * 0.5);  // an in-place update, as the optimizer makes
      w.mutable_grad().reset();
      x.mutable_grad().reset();
    }
    // Nothing from the recompute is left in autocast's cache: a cast through it now gives the
    // current weight.
    Bf16AutocastRegion autocast;
    const at::Tensor cast = at::autocast::cached_cast(at::kBFloat16, w, at::kCPU);
    EXPECT_TRUE(at::equal(cast, w.detach().to(at::kBFloat16))) << "step " << step << ": stale cast of w cached";
  }
}
