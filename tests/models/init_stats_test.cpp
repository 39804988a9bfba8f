// From-scratch initialisation matches timm's, family by family: for a small variant of each
// family, every parameter and buffer of a model created here (create_model's default init, the
// path `trainer train` takes without init.from) has the statistics of the same tensor in a freshly
// created timm model (tools/timm_init_stats.py), and nothing is non-finite.
//
// Statistics are robust ones, because timm's trunc_normal_ itself now and then puts a value of +-2
// into a tensor of std 0.02 (a uniform draw of exactly -1 becomes -inf in erfinv, clamped to -2;
// about one per 2^24 elements, so in most large models), which would swing a std or a maximum.
// Tolerances (n = element count; both sides are independent random draws):
//  - constant tensors in timm (std 0: norms, biases, layer-scale) must be the same constant;
//  - the median of |x| (the scale) within max(3%, 8/sqrt(n)) relative;
//  - the mean within 8 x sigma x sqrt(2/n) absolute, sigma = median|x| / 0.6745;
//  - for n >= 2000, the shape q99(|x|) / q50(|x|) within 15%: 1.98 for a uniform draw, 3.82 for a
//    normal one, so PyTorch's default kaiming-uniform and timm's trunc-normal cannot be confused.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "models/registry.h"
#include "tests/models/parity_util.h"

using namespace wildreid;

namespace {

struct Case {
  std::string name, timm_name, overrides;  // overrides: JSON kwargs shared by both sides
};

// Small variants of every family (real timm configs or lightly shrunk ones, so tensors are large
// enough for the statistics to mean something).
const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"convnext", "convnext_atto", "{}"},
      {"convnext_linear_mlp", "convnext_tiny", R"({"depths": [1, 1, 2, 1], "dims": [48, 96, 128, 192]})"},
      {"vit", "vit_tiny_patch16_224", "{}"},
      {"swin", "swin_tiny_patch4_window7_224", R"({"depths": [2, 2, 2, 2]})"},
      {"maxvit", "maxvit_tiny_tf_224", R"({"depths": [1, 1, 1, 1]})"},
  };
  return all;
}

constexpr int64_t kClasses = 10;

struct Stats {
  double n, mean, std, q50, q99;  // q: quantiles of |x|, as tools/timm_init_stats.py defines them
};

Stats stats_of(const at::Tensor& t) {
  at::Tensor v = t.detach().to(at::kDouble).flatten();
  const at::Tensor sorted = std::get<0>(v.abs().sort());
  auto q = [&](double p) {
    return sorted[static_cast<int64_t>(p * static_cast<double>(sorted.numel() - 1))].item<double>();
  };
  return {static_cast<double>(v.numel()), v.mean().item<double>(), v.numel() > 1 ? v.std().item<double>() : 0.0,
          q(0.5), q(0.99)};
}

// One oracle run per case (a fresh timm model after torch.manual_seed(0)).
nlohmann::json timm_stats(const Case& c) {
  nlohmann::json kwargs = nlohmann::json::parse(c.overrides);
  kwargs["num_classes"] = kClasses;
  const nlohmann::json request = nlohmann::json::array({{{"case", c.name}, {"timm_name", c.timm_name}, {"kwargs", kwargs}}});
  const std::string out = wildreid::testing::run_python_oracle("timm_init_stats.py", {request.dump()});
  return out.empty() ? nlohmann::json::object() : nlohmann::json::parse(out);
}

void expect_init_matches_timm(const Case& c) {
  const nlohmann::json reference = timm_stats(c);
  ASSERT_TRUE(reference.contains(c.name)) << "oracle gave no statistics for " << c.name;
  models::ModelOptions options;
  options.num_classes = kClasses;
  options.arch_overrides = c.overrides == "{}" ? "" : c.overrides;
  auto model = models::create_model(c.timm_name, options);

  std::map<std::string, at::Tensor> ours;
  for (const auto& p : model->named_parameters()) ours[p.key()] = p.value();
  for (const auto& b : model->named_buffers())
    if (at::isFloatingType(b.value().scalar_type())) ours[b.key()] = b.value();
  for (const auto& [name, t] : ours)
    EXPECT_TRUE(at::isfinite(t).all().item<bool>()) << c.name << ": " << name << " has non-finite values";

  int compared = 0;
  for (const auto& [name, ref] : reference.at(c.name).items()) {
    auto it = ours.find(name);
    if (it == ours.end()) {
      // Buffers are implementation details (timm's MaxViT keeps one-hot lookup tables where we
      // keep an index); every parameter must exist here under timm's name.
      if (ref[5].get<int>() == 1) ADD_FAILURE() << c.name << ": timm parameter " << name << " has no counterpart here";
      continue;
    }
    const Stats s = stats_of(it->second);
    const double n = ref[0].get<double>(), mean = ref[1].get<double>(), std = ref[2].get<double>(),
                 q50 = ref[3].get<double>(), q99 = ref[4].get<double>();
    ASSERT_EQ(s.n, n) << c.name << ": " << name << " element count";
    ++compared;
    if (std == 0.0) {
      EXPECT_EQ(s.std, 0.0) << c.name << ": " << name << " is constant in timm";
      EXPECT_NEAR(s.mean, mean, 1e-7 * std::max(1.0, std::abs(mean))) << c.name << ": " << name;
      continue;
    }
    const double scale_tol = std::max(0.03, 8.0 / std::sqrt(n));
    EXPECT_NEAR(s.q50 / q50, 1.0, scale_tol) << c.name << ": " << name << " median |x| " << s.q50 << " vs timm " << q50;
    const double sigma = q50 / 0.6745;
    EXPECT_NEAR(s.mean, mean, 8.0 * sigma * std::sqrt(2.0 / n)) << c.name << ": " << name << " mean";
    if (n >= 2000)
      EXPECT_NEAR((s.q99 / s.q50) / (q99 / q50), 1.0, 0.15)
          << c.name << ": " << name << " q99/q50 of |x| " << s.q99 / s.q50 << " vs timm " << q99 / q50
          << " (a different distribution shape)";
  }
  EXPECT_GT(compared, 10) << c.name;
  std::printf("%s: %d tensors match timm's init statistics\n", c.name.c_str(), compared);
}

}  // namespace

TEST(InitStats, ConvNeXtMatchesTimm) { expect_init_matches_timm(cases()[0]); }
TEST(InitStats, ConvNeXtLinearMlpMatchesTimm) { expect_init_matches_timm(cases()[1]); }
TEST(InitStats, ViTMatchesTimm) { expect_init_matches_timm(cases()[2]); }
TEST(InitStats, SwinMatchesTimm) { expect_init_matches_timm(cases()[3]); }
TEST(InitStats, MaxViTMatchesTimm) { expect_init_matches_timm(cases()[4]); }

// Uninitialised creation followed by init_weights() is the same path (what a caller that creates
// the model for loading, then decides to train from scratch, does).
TEST(InitStats, LateInitEqualsCreateTimeInit) {
  models::ModelOptions options;
  options.num_classes = kClasses;
  at::manual_seed(3);
  auto a = models::create_model("vit_tiny_patch16_224", options);
  options.init_weights = false;
  auto b = models::create_model("vit_tiny_patch16_224", options);
  at::manual_seed(3);
  b->init_weights();
  auto pa = a->named_parameters(), pb = b->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& p : pa) EXPECT_TRUE(at::equal(p.value(), pb[p.key()])) << p.key();
}
