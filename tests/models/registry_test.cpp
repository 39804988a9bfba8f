// Registry lookups and parameter counts: full-size counts must equal timm's (1000 classes), as
// printed by `trainer models`. Expected values come from timm 1.0.22 (sum of p.numel()).
// Initialisation is reproducible from the seed at any thread count.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "models/registry.h"

using namespace wildreid::models;

TEST(Registry, BareAndTaggedNamesResolveToTheSameEntry) {
  const auto* bare = registry().find("convnext_xlarge");
  const auto* tagged = registry().find("convnext_xlarge.fb_in22k_ft_in1k_384");
  ASSERT_NE(bare, nullptr);
  EXPECT_EQ(bare, tagged);
  EXPECT_EQ(bare->spec.input_size, 384);
  EXPECT_EQ(bare->spec.embed_dim, 2048);
  EXPECT_EQ(registry().find("vit_large_patch16_384")->spec.mean, std::vector<double>({0.5, 0.5, 0.5}));
}

TEST(Registry, UnknownNameListsKnownModels) {
  try {
    registry().at("resnet50");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("resnet50"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("convnext_tiny"), std::string::npos);
  }
}

TEST(Registry, UnsupportedOverrideIsNamed) {
  ModelOptions o;
  o.arch_overrides = R"({"depths": [1, 1, 1, 1], "use_grn": true})";
  o.init_weights = false;
  try {
    create_model("convnext_tiny", o);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("use_grn"), std::string::npos);
  }
}

struct Count {
  const char* name;
  int64_t params;
};

class ParameterCount : public ::testing::TestWithParam<Count> {};

TEST_P(ParameterCount, EqualsTimm) {
  const Count c = GetParam();
  if (!registry().find(c.name)) GTEST_SKIP() << c.name << " is not registered yet";
  EXPECT_EQ(count_parameters(c.name, 1000), c.params) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Timm, ParameterCount,
    ::testing::Values(Count{"convnext_xlarge", 350196968}, Count{"convnext_tiny", 28589128},
                      Count{"convnext_atto", 3695520}, Count{"vit_large_patch16_384", 304715752},
                      Count{"vit_base_patch16_384", 86859496},
                      Count{"swin_large_patch4_window12_384", 196735516},
                      Count{"maxvit_xlarge_tf_384", 475323472}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Registry, FormatsMillionsWithTwoDecimals) {
  EXPECT_EQ(format_millions(350196968), "350.20M");
  EXPECT_EQ(format_millions(304715752), "304.72M");
}

// init_weights() draws in parallel chunks (models/timm_init.h): the weights follow at::manual_seed
// and do not depend on how many threads draw them.
TEST(Registry, InitFollowsTheSeedAndNotTheThreadCount) {
  auto weights = [](uint64_t seed, int threads) {
    const int before = at::get_num_threads();
    at::set_num_threads(threads);
    at::manual_seed(seed);
    ModelOptions o;
    o.num_classes = 7;
    auto model = create_model("convnext_atto", o);  // 3.7M parameters: several 2^20-element chunks
    at::set_num_threads(before);
    std::vector<at::Tensor> out;
    for (const auto& p : model->parameters()) out.push_back(p.detach().clone());
    return out;
  };
  const auto one = weights(5, 1), two = weights(5, 2), other = weights(6, 2);
  ASSERT_EQ(one.size(), two.size());
  bool any_differs = false;
  for (size_t i = 0; i < one.size(); ++i) {
    EXPECT_TRUE(at::equal(one[i], two[i])) << "parameter " << i;
    any_differs |= !at::equal(one[i], other[i]);
  }
  EXPECT_TRUE(any_differs);
}
