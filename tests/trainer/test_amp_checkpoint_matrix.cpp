// The configurations users train in, crossed: each family's small variant (and ConvNeXt-atto's
// ConvMlp) x {fp32, bf16, fp16} x {activation checkpointing off, on}, accumulation 2, drop-path 0.1, two optimizer steps from
// timm's init at a constant lr of 1e-3 (no warmup, so the weights move in one step and a forward
// that ran on stale weights would show at step 2). Every loss must be finite, and checkpointing
// must not change the numbers: identical losses in fp32 and, under autocast, the same losses and
// weights within autocast noise (the recompute repeats the forward's casts exactly, so the
// observed difference is 0; the tolerance leaves room for kernels that are not bitwise
// reproducible).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "models/registry.h"
#include "trainer/adamw.h"
#include "trainer/amp.h"
#include "trainer/train_step.h"

using namespace wildreid;
using trainer::AmpMode;

namespace {

struct Family {
  std::string name, arch, overrides;
  int64_t img;
};

const std::vector<Family>& families() {
  static const std::vector<Family> all = {
      {"convnext", "convnext_tiny", R"({"depths": [1, 1, 2, 1], "dims": [16, 32, 48, 64]})", 32},
      // atto's ConvMlp, which runs as matrix products on channels-last activations
      {"convnext_convmlp", "convnext_atto", R"({"depths": [1, 1, 2, 1], "dims": [16, 32, 48, 64]})", 32},
      {"vit", "vit_tiny_patch16_224", R"({"img_size": 32, "patch_size": 8, "embed_dim": 64, "depth": 2, "num_heads": 4})", 32},
      {"swin", "swin_tiny_patch4_window7_224",
       R"({"img_size": 56, "embed_dim": 16, "depths": [2, 2, 1], "num_heads": [2, 4, 4], "window_size": 4})", 56},
      {"maxvit", "maxvit_tiny_tf_224",
       R"({"img_size": 64, "embed_dim": [16, 16, 24, 32], "depths": [1, 1, 1, 1], "stem_width": 16,
           "head_hidden_size": 32, "transformer_dim_head": 8})", 64},
  };
  return all;
}

constexpr int64_t kClasses = 6, kMicroBatch = 4, kAccumulation = 2, kSteps = 2;

struct RunResult {
  std::vector<double> losses;
  std::vector<at::Tensor> weights;
};

RunResult train_two_steps(const Family& f, AmpMode amp, bool checkpointing) {
  at::manual_seed(11);
  models::ModelOptions options;
  options.num_classes = kClasses;
  options.arch_overrides = f.overrides;
  options.img_size = f.img;
  options.drop_path_rate = 0.1;
  options.grad_checkpointing = checkpointing;
  auto model = models::create_model(f.arch, options);
  model->train();
  std::vector<std::pair<std::string, at::Tensor>> named;
  std::vector<at::Tensor> params;
  for (const auto& p : model->named_parameters()) {
    named.emplace_back(p.key(), p.value());
    params.push_back(p.value());
  }
  trainer::AdamW optimizer(named, trainer::AdamWOptions{});
  trainer::GradScaler scaler(amp == AmpMode::kFp16, 1024.0, 2000, at::kCPU);
  trainer::LocalGradientSync sync;
  trainer::StepOptions step_options;
  step_options.amp = amp;
  trainer::TrainStep step([&model](const at::Tensor& x) { return model->forward(x); }, params, optimizer, scaler,
                          sync, step_options);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  RunResult out;
  at::manual_seed(23);  // drop-path masks: the same stream with and without checkpointing
  for (int64_t s = 0; s < kSteps; ++s) {
    std::vector<trainer::MicroBatch> micro;
    for (int64_t m = 0; m < kAccumulation; ++m)
      micro.push_back({at::randn({kMicroBatch, 3, f.img, f.img}, gen), at::randint(0, kClasses, {kMicroBatch}, gen)});
    const auto result = step.run(micro, 1e-3);
    out.losses.push_back(result.read().loss);
  }
  for (const auto& p : params) out.weights.push_back(p.detach().clone());
  return out;
}

const char* amp_name(AmpMode amp) { return amp == AmpMode::kOff ? "fp32" : amp == AmpMode::kBf16 ? "bf16" : "fp16"; }

void expect_checkpointing_changes_nothing(const Family& f, AmpMode amp) {
  const RunResult plain = train_two_steps(f, amp, false);
  const RunResult ckpt = train_two_steps(f, amp, true);
  const std::string cell = f.name + "/" + amp_name(amp);
  double weight_diff = 0;
  for (size_t i = 0; i < plain.weights.size(); ++i)
    weight_diff = std::max(weight_diff, (plain.weights[i] - ckpt.weights[i]).abs().max().item<double>());
  std::printf("%-12s losses plain %.7f %.7f | checkpointed %.7f %.7f | max weight diff %.3g\n", cell.c_str(),
              plain.losses[0], plain.losses[1], ckpt.losses[0], ckpt.losses[1], weight_diff);
  for (int64_t s = 0; s < kSteps; ++s) {
    EXPECT_TRUE(std::isfinite(plain.losses[s])) << cell << " step " << s + 1 << " without checkpointing";
    EXPECT_TRUE(std::isfinite(ckpt.losses[s])) << cell << " step " << s + 1 << " with checkpointing";
    if (amp == AmpMode::kOff)
      EXPECT_EQ(plain.losses[s], ckpt.losses[s]) << cell << " step " << s + 1;
    else
      EXPECT_NEAR(plain.losses[s], ckpt.losses[s], 1e-3 * std::abs(plain.losses[s])) << cell << " step " << s + 1;
  }
  EXPECT_LE(weight_diff, amp == AmpMode::kOff ? 1e-6 : 1e-4) << cell << ": weights after " << kSteps << " steps";
}

}  // namespace

class AmpCheckpointMatrix : public ::testing::TestWithParam<std::tuple<int, AmpMode>> {};

TEST_P(AmpCheckpointMatrix, FiniteAndCheckpointingChangesNothing) {
  at::set_num_threads(1);
  expect_checkpointing_changes_nothing(families()[std::get<0>(GetParam())], std::get<1>(GetParam()));
}

INSTANTIATE_TEST_SUITE_P(FamiliesByPrecision, AmpCheckpointMatrix,
                         ::testing::Combine(::testing::Range(0, 5),
                                            ::testing::Values(AmpMode::kOff, AmpMode::kBf16, AmpMode::kFp16)),
                         [](const auto& info) {
                           return families()[std::get<0>(info.param)].name + "_" + amp_name(std::get<1>(info.param));
                         });
