// Activation checkpointing of the Swin and MaxViT blocks gives the same gradients as the plain
// backward, with stochastic depth on (so the re-run in backward must replay the forward's random
// masks) and, for MaxViT, BatchNorm in training mode (batch statistics); and it keeps far fewer
// bytes from the forward for backward (their blocks return views, whose base once kept the whole
// recorded graph alive).
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <map>
#include <string>

#include "models/cpu_memory_counter.h"
#include "models/registry.h"
#include "tests/models/parity_util.h"

namespace wm = wildreid::models;

namespace {

std::map<std::string, at::Tensor> gradients(wm::Backbone& model, const at::Tensor& input, bool checkpointing) {
  model.set_grad_checkpointing(checkpointing);
  model.train();
  for (auto& p : model.parameters()) p.mutable_grad() = at::Tensor();
  at::manual_seed(123);
  auto logits = model.forward(input);
  (logits * at::linspace(-1, 1, logits.numel()).view(logits.sizes())).sum().backward();
  std::map<std::string, at::Tensor> out;
  for (const auto& p : model.named_parameters()) {
    EXPECT_TRUE(p.value().grad().defined()) << p.key() << " got no gradient";
    if (p.value().grad().defined()) out[p.key()] = p.value().grad().clone();
  }
  return out;
}

void expect_same_gradients_with_checkpointing(const std::string& fixture_name) {
  auto f = wildreid::testing::load_model_fixture(fixture_name);
  wm::ModelOptions options;
  options.drop_path_rate = 0.3;
  auto model = wildreid::testing::load_fixture_model(f, options);
  const auto input = f.io.at("input");
  auto plain = gradients(*model, input, false);
  auto checkpointed = gradients(*model, input, true);
  ASSERT_EQ(plain.size(), checkpointed.size());
  for (const auto& [name, grad] : plain) {
    const double diff = (grad - checkpointed.at(name)).abs().max().item<double>();
    const double scale = grad.abs().max().item<double>();
    EXPECT_LE(diff, 1e-5 * (1.0 + scale)) << name;
  }
}

// Bytes of CPU tensors the training forward leaves alive for backward.
int64_t held_after_forward(const std::string& fixture_name, bool checkpointing) {
  auto f = wildreid::testing::load_model_fixture(fixture_name);
  wm::ModelOptions options;
  options.grad_checkpointing = checkpointing;
  auto model = wildreid::testing::load_fixture_model(f, options);
  model->train();
  const at::Tensor input = at::cat({f.io.at("input"), f.io.at("input"), f.io.at("input"), f.io.at("input")});
  wm::CpuMemoryCounter counting;
  const int64_t before = counting.current();
  at::Tensor logits = model->forward(input);
  return counting.current() - before;
}

void expect_checkpointing_keeps_less(const std::string& fixture_name) {
  const int64_t plain = held_after_forward(fixture_name, false);
  const int64_t checkpointed = held_after_forward(fixture_name, true);
  std::printf("%s: bytes held after the training forward: plain %lld, checkpointed %lld\n", fixture_name.c_str(),
              static_cast<long long>(plain), static_cast<long long>(checkpointed));
  EXPECT_GT(plain, 0);
  EXPECT_LT(checkpointed, plain / 2) << fixture_name << ": checkpointing kept the blocks' activations";
}

}  // namespace

TEST(SwinCheckpointing, KeepsLessForBackward) { expect_checkpointing_keeps_less("swin_micro"); }
TEST(MaxVitCheckpointing, KeepsLessForBackward) { expect_checkpointing_keeps_less("maxvit_tiny_tf_micro"); }

TEST(SwinCheckpointing, SameGradientsAsPlainBackward) { expect_same_gradients_with_checkpointing("swin_micro"); }
TEST(MaxVitCheckpointing, SameGradientsAsPlainBackward) {
  expect_same_gradients_with_checkpointing("maxvit_tiny_tf_micro");
}
