// MaxViT pieces that parity alone would not pin down: TensorFlow 'SAME' padding amounts, timm's
// make_divisible, the key-minus-query relative position index, block vs grid partitions, the
// full-size parameter count against timm's, the registry entries, and channels_last inference.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "models/maxvit_mbconv.h"
#include "models/maxvit_partition_attention.h"
#include "models/maxvit_rel_pos_bias.h"
#include "models/maxvit_same_conv.h"
#include "models/model_weights.h"
#include "models/registry.h"
#include "tests/models/parity_util.h"

namespace wm = wildreid::models;

TEST(MaxVitSamePadding, OddPixelGoesRightAndBottom) {
  auto even = wm::maxvit_pad_same(at::ones({1, 1, 8, 8}), 3, 2);  // total 1: (0, 1)
  ASSERT_EQ(even.sizes(), (std::vector<int64_t>{1, 1, 9, 9}));
  EXPECT_EQ(even[0][0][0][0].item<float>(), 1.0f);
  EXPECT_EQ(even[0][0][8][8].item<float>(), 0.0f);
  auto odd = wm::maxvit_pad_same(at::ones({1, 1, 7, 7}), 3, 2);  // total 2: (1, 1)
  ASSERT_EQ(odd.sizes(), (std::vector<int64_t>{1, 1, 9, 9}));
  EXPECT_EQ(odd[0][0][0][0].item<float>(), 0.0f);
  EXPECT_EQ(odd[0][0][1][1].item<float>(), 1.0f);
  EXPECT_EQ(wm::maxvit_pad_same(at::ones({1, 1, 8, 8}), 2, 2).size(2), 8);  // 2x2 pool: none
}

TEST(MaxVitSamePadding, StaticWhereTimmIsStatic) {
  wm::MaxVitSameConv2d stride1(wm::Conv2dArgs{.in = 1, .out = 1, .kernel = 3, .stride = 1});
  wm::MaxVitSameConv2d stride2(wm::Conv2dArgs{.in = 1, .out = 1, .kernel = 3, .stride = 2});
  EXPECT_FALSE(stride1->dynamic());
  EXPECT_EQ(stride1->args.padding, 1);
  EXPECT_TRUE(stride2->dynamic());
  EXPECT_EQ(stride2->args.padding, 0);
}

TEST(MaxVitMbConv, MakeDivisibleAsTimm) {
  EXPECT_EQ(wm::maxvit_make_divisible(256), 256);
  EXPECT_EQ(wm::maxvit_make_divisible(20), 24);
  EXPECT_EQ(wm::maxvit_make_divisible(12), 16);
  EXPECT_EQ(wm::maxvit_make_divisible(3), 8);
  EXPECT_EQ(wm::maxvit_make_divisible(6144), 6144);
}

TEST(MaxVitRelPos, KeyMinusQueryIndex) {
  auto index = wm::maxvit_relative_position_index(2, 3);
  // query (0,0), key (1,2): (1 + 1) * 5 + (2 + 2).
  EXPECT_EQ(index[0][5].item<int64_t>(), 14);
  EXPECT_EQ(index[5][0].item<int64_t>(), 0);
}

TEST(MaxVitPartition, BlockAndGridRoundTripAndDiffer) {
  auto x = at::arange(2 * 6 * 6 * 3, at::kFloat).view({2, 6, 6, 3});
  for (auto kind : {wm::MaxVitPartition::kBlock, wm::MaxVitPartition::kGrid}) {
    auto parts = wm::maxvit_partition(x, kind, 3);
    ASSERT_EQ(parts.sizes(), (std::vector<int64_t>{8, 3, 3, 3}));
    EXPECT_TRUE(at::equal(wm::maxvit_unpartition(parts, kind, 3, 6, 6), x));
  }
  // Block windows hold neighbours; grid windows hold pixels 2 apart (6 / 3).
  auto block = wm::maxvit_partition(x, wm::MaxVitPartition::kBlock, 3);
  auto grid = wm::maxvit_partition(x, wm::MaxVitPartition::kGrid, 3);
  EXPECT_TRUE(at::equal(block[0][0][1], x[0][0][1]));
  EXPECT_TRUE(at::equal(grid[0][0][1], x[0][0][2]));
  EXPECT_THROW(wm::maxvit_partition(at::zeros({1, 5, 6, 3}), wm::MaxVitPartition::kBlock, 3), std::invalid_argument);
}

TEST(MaxVitRegistry, XLargeMatchesTimmParameterCountAndSpec) {
  EXPECT_EQ(wm::count_parameters("maxvit_xlarge_tf_384", 1000), 475323472);  // timm: 475.32M
  const auto& spec = wm::registry().at("maxvit_xlarge_tf_384").spec;
  EXPECT_EQ(spec.input_size, 384);
  EXPECT_EQ(spec.embed_dim, 1536);
  EXPECT_EQ(spec.family, "maxvit");
  EXPECT_DOUBLE_EQ(spec.mean[0], 0.5);
  EXPECT_DOUBLE_EQ(spec.std[0], 0.5);
  EXPECT_EQ(wm::count_parameters("maxvit_tiny_tf_224", 1000), 30916528);
}

TEST(MaxVitModel, RejectsSizesTheWindowsDoNotTile) {
  wm::ModelOptions options;
  options.init_weights = false;
  options.img_size = 200;  // 200 / 32 = 6, final map 200 / 32 = 6.25
  EXPECT_THROW(wm::create_model("maxvit_tiny_tf_224", options), std::invalid_argument);
}

TEST(MaxVitModel, ChannelsLastMatchesTimmToo) {
  auto f = wildreid::testing::load_model_fixture("maxvit_tiny_tf_micro");
  wm::ModelOptions options;
  options.channels_last = true;
  auto model = wildreid::testing::load_fixture_model(f, options);
  model->eval();
  at::NoGradGuard no_grad;
  auto logits = model->forward(f.io.at("input"));
  EXPECT_LE((logits - f.io.at("logits")).abs().max().item<double>(), 1e-4);
}

// With autograd recording, attention is spelled out instead of going through
// scaled_dot_product_attention (see maxvit_partition_attention.cpp): that path must match timm too.
TEST(MaxVitModel, GradRecordingForwardMatchesTimm) {
  wildreid::testing::expect_timm_parity("maxvit_tiny_tf_micro", 1e-4, /*record_gradients=*/true);
}
