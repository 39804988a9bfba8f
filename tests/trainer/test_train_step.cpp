// Compute-core tests on CPU, one process: accumulation equivalence, the fp16 scaler's skip and
// back-off on an injected inf, bf16 autocast, fused AdamW against the reference formula, the
// no-decay grouping and the lr schedules. The model is a small conv net with LayerNorm-free
// layers only, so results do not depend on how a batch is split.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

#include "trainer/adamw.h"
#include "trainer/amp.h"
#include "trainer/lr_schedule.h"
#include "trainer/train_step.h"

using namespace wildreid::trainer;

namespace {

struct TinyNetImpl : torch::nn::Module {
  TinyNetImpl() {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 8, 3).padding(1)));
    fc = register_module("head", torch::nn::Linear(8, 5));
  }
  at::Tensor forward(const at::Tensor& x) {
    return fc->forward(at::relu(conv->forward(x)).mean({2, 3}));
  }
  torch::nn::Conv2d conv{nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(TinyNet);

struct Rig {
  explicit Rig(StepOptions options, bool fp16_scaler = false)
      : net(), scaler(fp16_scaler, 1024.0, 2000, at::kCPU), options(options) {
    torch::manual_seed(7);
    net = TinyNet();
    for (auto& p : net->named_parameters()) named.emplace_back(p.key(), p.value());
    for (auto& p : net->parameters()) params.push_back(p);
    AdamWOptions o;
    o.weight_decay = 0.05;
    optimizer = std::make_unique<AdamW>(named, o);
    step = std::make_unique<TrainStep>([this](const at::Tensor& x) { return net->forward(x); },
                                       params, *optimizer, scaler, sync, options);
  }
  TinyNet net;
  std::vector<std::pair<std::string, at::Tensor>> named;
  std::vector<at::Tensor> params;
  GradScaler scaler;
  LocalGradientSync sync;
  StepOptions options;
  std::unique_ptr<AdamW> optimizer;
  std::unique_ptr<TrainStep> step;
};

double max_abs_diff(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  double out = 0;
  for (size_t i = 0; i < a.size(); ++i) out = std::max(out, (a[i] - b[i]).abs().max().item<double>());
  return out;
}

std::vector<MicroBatch> split(const MicroBatch& batch, int64_t parts) {
  std::vector<MicroBatch> out;
  auto images = batch.images.chunk(parts);
  auto labels = batch.labels.chunk(parts);
  for (int64_t i = 0; i < parts; ++i) out.push_back({images[i], labels[i]});
  return out;
}

MicroBatch make_batch(int64_t n, int64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return {at::randn({n, 3, 12, 12}, gen), at::randint(0, 5, {n}, gen)};
}

}  // namespace

TEST(TrainStep, AccumulationFourQuartersEqualsOneBatch) {
  StepOptions options;
  options.clip_grad_norm = 1.0;
  options.label_smoothing = 0.1;
  Rig whole(options), quarters(options);
  ASSERT_EQ(max_abs_diff(whole.params, quarters.params), 0.0);
  for (int k = 0; k < 3; ++k) {
    const MicroBatch batch = make_batch(16, 100 + k);
    const auto a = whole.step->run({batch}, 1e-2).read();
    const auto b = quarters.step->run(split(batch, 4), 1e-2).read();
    EXPECT_FALSE(a.skipped);
    EXPECT_NEAR(a.loss, b.loss, 1e-5);
    EXPECT_NEAR(a.grad_norm, b.grad_norm, 1e-5);
  }
  const double diff = max_abs_diff(whole.params, quarters.params);
  EXPECT_LE(diff, 1e-5);
  // The steps did change the weights (the comparison is not trivially true).
  Rig fresh(options);
  EXPECT_GT(max_abs_diff(whole.params, fresh.params), 1e-3);
}

TEST(TrainStep, Fp16InjectedInfSkipsStepAndHalvesScale) {
  StepOptions options;
  options.amp = AmpMode::kFp16;
  Rig rig(options, /*fp16_scaler=*/true);
  std::vector<at::Tensor> before;
  for (auto& p : rig.params) before.push_back(p.detach().clone());
  const double scale_before = rig.scaler.scale();
  const auto result = rig.step->run({make_batch(8, 1)}, 1e-2, /*inject_inf=*/true).read();
  EXPECT_TRUE(result.skipped);
  EXPECT_TRUE(std::isnan(result.grad_norm));
  EXPECT_EQ(max_abs_diff(before, rig.params), 0.0);
  EXPECT_DOUBLE_EQ(rig.scaler.scale(), scale_before * 0.5);
  const auto next = rig.step->run({make_batch(8, 2)}, 1e-2).read();
  EXPECT_FALSE(next.skipped);
  EXPECT_GT(max_abs_diff(before, rig.params), 0.0);
  EXPECT_EQ(rig.scaler.growth_tracker(), 1);
}

// On CPU the phases are host time between marks: each is positive and together they are the
// step (the rest is a few tensor allocations).
TEST(TrainStep, PhaseTimesAddUpToTheStep) {
  StepOptions options;
  Rig rig(options);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(9);
  const MicroBatch batch{at::randn({32, 3, 64, 64}, gen), at::randint(0, 5, {32}, gen)};  // a step of some ms
  const auto start = std::chrono::steady_clock::now();
  const auto result = rig.step->run(split(batch, 2), 1e-2).read();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto& p = result.phases;
  EXPECT_GT(p.forward, 0);
  EXPECT_GT(p.backward, 0);
  EXPECT_GE(p.allreduce_wait, 0);
  EXPECT_GT(p.optimizer, 0);
  const double sum = p.forward + p.backward + p.allreduce_wait + p.optimizer;
  EXPECT_LE(sum, wall);
  EXPECT_GE(sum, 0.8 * wall) << "phases " << sum << " s of a " << wall << " s step";
}

TEST(TrainStep, ScalerGrowsAfterGrowthInterval) {
  GradScaler scaler(true, 8.0, 2, at::kCPU);
  auto g = at::ones({3});
  for (int i = 0; i < 2; ++i) {
    auto copy = g.clone();
    scaler.unscale_and_check({copy});
    EXPECT_EQ(scaler.found_inf().item<float>(), 0.0f);
    scaler.update();
  }
  EXPECT_DOUBLE_EQ(scaler.scale(), 16.0);
}

TEST(TrainStep, Bf16AutocastRunsOnCpu) {
  StepOptions options;
  options.amp = AmpMode::kBf16;
  Rig rig(options);
  {
    AutocastScope scope(AmpMode::kBf16, at::kCPU);
    EXPECT_EQ(rig.net->forward(make_batch(2, 3).images).scalar_type(), at::kBFloat16);
  }
  EXPECT_EQ(rig.net->forward(make_batch(2, 3).images).scalar_type(), at::kFloat);
  const auto result = rig.step->run({make_batch(8, 4)}, 1e-2).read();
  EXPECT_FALSE(result.skipped);
  EXPECT_TRUE(std::isfinite(result.loss));
  for (auto& p : rig.params) EXPECT_EQ(p.scalar_type(), at::kFloat);  // fp32 master weights
}

TEST(TrainStep, NonFiniteLossIsSkippedInFp32) {
  Rig rig(StepOptions{});
  std::vector<at::Tensor> before;
  for (auto& p : rig.params) before.push_back(p.detach().clone());
  MicroBatch batch = make_batch(4, 5);
  batch.images[0][0][0][0] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(rig.step->run({batch}, 1e-2).read().skipped);
  EXPECT_EQ(max_abs_diff(before, rig.params), 0.0);
  // The skipped step did not count: Adam's step counters are unchanged.
  for (const auto& [name, t] : rig.optimizer->state_dict())
    if (name.rfind("step/", 0) == 0) EXPECT_EQ(t.item<float>(), 0.0f) << name;
}

// The clip coefficient is computed on the device; the result is the host formula's
// (scale by max_norm / (norm + 1e-6) only when norm > max_norm).
TEST(TrainStep, DeviceClipMatchesHostFormula) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  for (double max_norm : {0.5, 1e3}) {
    std::vector<at::Tensor> grads{at::randn({10, 4}, gen), at::randn({7}, gen)};
    std::vector<at::Tensor> expected;
    double norm = 0;
    for (auto& g : grads) norm += g.pow(2).sum().item<double>();
    norm = std::sqrt(norm);
    for (auto& g : grads) expected.push_back(norm > max_norm ? g * (max_norm / (norm + 1e-6)) : g.clone());
    const at::Tensor reported = clip_grad_norm(grads, max_norm);
    EXPECT_NEAR(reported.item<double>(), norm, 1e-4 * norm);
    EXPECT_LE(max_abs_diff(grads, expected), 1e-6) << "max_norm " << max_norm;
  }
}

// A skipped step followed by a normal one gives the weights of the normal step alone (the fused
// kernel's device-side skip leaves parameters, moments and counters untouched).
TEST(AdamW, DeviceSkipLeavesStateUntouched) {
  auto make = [] {
    at::manual_seed(5);
    return at::randn({6, 3}).requires_grad_(true);
  };
  at::Tensor a = make(), b = make();
  AdamW skipping({{"w", a}}, AdamWOptions{}), plain({{"w", b}}, AdamWOptions{});
  const at::Tensor grad = at::randn({6, 3});
  a.mutable_grad() = grad.clone();
  skipping.step(1e-2, at::ones({1}));
  EXPECT_TRUE(at::equal(a, b));
  a.mutable_grad() = grad.clone();
  b.mutable_grad() = grad.clone();
  skipping.step(1e-2, at::zeros({1}));
  plain.step(1e-2);
  EXPECT_TRUE(at::equal(a, b));
  EXPECT_TRUE(at::equal(skipping.state_dict().at("step/w"), plain.state_dict().at("step/w")));
}

TEST(AdamW, FusedMatchesReferenceFormula) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
  at::Tensor w1 = at::randn({4, 3}, gen).requires_grad_(), b1 = at::randn({3}, gen).requires_grad_();
  at::Tensor w2 = w1.detach().clone().requires_grad_(), b2 = b1.detach().clone().requires_grad_();
  AdamWOptions fused_options, ref_options;
  fused_options.weight_decay = ref_options.weight_decay = 0.1;
  ref_options.fused = false;
  AdamW fused({{"w", w1}, {"head.bias", b1}}, fused_options);
  AdamW ref({{"w", w2}, {"head.bias", b2}}, ref_options);
  EXPECT_EQ(fused.decayed_count(), 1);
  for (int step = 0; step < 5; ++step) {
    auto gw = at::randn({4, 3}, gen), gb = at::randn({3}, gen);
    w1.mutable_grad() = gw.clone(); w2.mutable_grad() = gw.clone();
    b1.mutable_grad() = gb.clone(); b2.mutable_grad() = gb.clone();
    fused.step(1e-2);
    ref.step(1e-2);
  }
  EXPECT_LE((w1 - w2).abs().max().item<double>(), 1e-6);
  EXPECT_LE((b1 - b2).abs().max().item<double>(), 1e-6);
  EXPECT_GT((w1 - at::randn({4, 3}, at::make_generator<at::CPUGeneratorImpl>(11))).abs().max().item<double>(), 1e-3);
}

TEST(AdamW, NoDecayOnNormsBiasesEmbeddingsAndTokens) {
  EXPECT_TRUE(excluded_from_weight_decay("stages.0.norm.weight", at::ones({8})));
  EXPECT_TRUE(excluded_from_weight_decay("head.fc.bias", at::ones({8})));
  EXPECT_TRUE(excluded_from_weight_decay("pos_embed", at::ones({1, 4, 8})));
  EXPECT_TRUE(excluded_from_weight_decay("layers.0.blocks.0.attn.relative_position_bias_table", at::ones({9, 2})));
  EXPECT_TRUE(excluded_from_weight_decay("cls_token", at::ones({1, 1, 8})));
  EXPECT_FALSE(excluded_from_weight_decay("stem.0.weight", at::ones({8, 3, 4, 4})));
}

TEST(LrSchedule, WarmupThenDecay) {
  LrSchedule cosine(LrScheduleKind::kCosine, 1.0, 100, 0.1, 0.0);
  EXPECT_EQ(cosine.warmup_steps(), 10);
  EXPECT_LT(cosine.at_step(0), cosine.at_step(5));
  EXPECT_NEAR(cosine.at_step(10), 1.0, 1e-12);
  EXPECT_NEAR(cosine.at_step(55), 0.5, 1e-12);
  EXPECT_NEAR(cosine.at_step(100), 0.0, 1e-12);
  LrSchedule linear(LrScheduleKind::kLinear, 2.0, 10, 0.0, 0.0);
  EXPECT_NEAR(linear.at_step(5), 1.0, 1e-12);
  LrSchedule constant(LrScheduleKind::kConstant, 3.0, 10, 0.0);
  EXPECT_NEAR(constant.at_step(9), 3.0, 1e-12);
}
