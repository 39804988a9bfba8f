// Swin pieces that parity alone would not pin down: the window plan (clamping and shift rules),
// the shifted-window mask against a direct region count, the old-layout key mapping and its
// refusals, the full-size parameter count against timm's, and the registry entry.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <map>
#include <string>

#include "checkpoints/safetensors.h"
#include "models/model_weights.h"
#include "models/registry.h"
#include "models/swin_legacy_layout.h"
#include "models/swin_transformer.h"
#include "models/swin_window.h"
#include "tests/models/parity_util.h"

namespace wm = wildreid::models;

TEST(SwinWindowPlan, ClampsWindowAndDropsShiftWhenStageFitsInOneWindow) {
  auto big = wm::swin_window_plan(96, 96, 12, true);
  EXPECT_EQ(big.window_h, 12);
  EXPECT_EQ(big.shift_h, 6);
  auto exact = wm::swin_window_plan(12, 12, 12, true);
  EXPECT_EQ(exact.window_h, 12);
  EXPECT_FALSE(exact.shifted());
  auto small = wm::swin_window_plan(3, 3, 4, true);
  EXPECT_EQ(small.window_h, 3);
  EXPECT_FALSE(small.shifted());
  EXPECT_FALSE(wm::swin_window_plan(96, 96, 12, false).shifted());
}

TEST(SwinWindowMask, MatchesRegionsOfTheRolledMap) {
  // 10x10 map, window 4, shift 2: padded to 12x12; regions are the 3x3 bands of the padded map.
  const auto plan = wm::swin_window_plan(10, 10, 4, true);
  auto mask = wm::swin_shifted_window_mask(10, 10, plan);
  ASSERT_EQ(mask.sizes(), (std::vector<int64_t>{9, 16, 16}));
  auto band = [](int64_t i) { return i < 12 - 4 ? 0 : (i < 12 - 2 ? 1 : 2); };
  auto acc = mask.accessor<float, 3>();
  for (int64_t win = 0; win < 9; ++win) {
    for (int64_t q = 0; q < 16; ++q) {
      for (int64_t k = 0; k < 16; ++k) {
        const int64_t qi = (win / 3) * 4 + q / 4, qj = (win % 3) * 4 + q % 4;
        const int64_t ki = (win / 3) * 4 + k / 4, kj = (win % 3) * 4 + k % 4;
        const bool same = band(qi) == band(ki) && band(qj) == band(kj);
        ASSERT_EQ(acc[win][q][k], same ? 0.0f : -100.0f) << "window " << win << " q " << q << " k " << k;
      }
    }
  }
  EXPECT_FALSE(wm::swin_shifted_window_mask(10, 10, wm::swin_window_plan(10, 10, 4, false)).defined());
}

TEST(SwinRelativePositionIndex, QueryMinusKeyOffsets) {
  auto index = wm::swin_relative_position_index(2, 3);
  ASSERT_EQ(index.sizes(), (std::vector<int64_t>{6, 6}));
  // query (1,2), key (0,0): offsets (1+1, 2+2) -> 2 * 5 + 4.
  EXPECT_EQ(index[5][0].item<int64_t>(), 2 * 5 + 4);
  EXPECT_EQ(index[0][0].item<int64_t>(), 1 * 5 + 2);  // zero offset is the table's centre
}

TEST(SwinLegacyLayout, RenamesDownsampleAndHead) {
  std::map<std::string, at::Tensor> old{{"layers.0.downsample.norm.weight", at::ones({4})},
                                        {"layers.2.downsample.reduction.weight", at::ones({2, 4})},
                                        {"layers.1.blocks.0.norm1.weight", at::ones({4})},
                                        {"head.weight", at::ones({3, 4})},
                                        {"head.bias", at::ones({3})}};
  ASSERT_TRUE(wm::swin_is_legacy_layout(old));
  auto now = wm::swin_convert_legacy_layout(old);
  for (const char* key : {"layers.1.downsample.norm.weight", "layers.3.downsample.reduction.weight",
                          "layers.1.blocks.0.norm1.weight", "head.fc.weight", "head.fc.bias"})
    EXPECT_TRUE(now.count(key)) << key;
  EXPECT_EQ(now.size(), old.size());
  // A current-layout map is left alone.
  std::map<std::string, at::Tensor> current{{"layers.1.downsample.norm.weight", at::ones({4})},
                                            {"head.fc.weight", at::ones({3, 4})}};
  EXPECT_FALSE(wm::swin_is_legacy_layout(current));
  EXPECT_EQ(wm::swin_convert_legacy_layout(current).count("layers.1.downsample.norm.weight"), 1u);
}

namespace {
std::shared_ptr<wm::Backbone> micro_model(const wildreid::testing::ModelFixture& f) {
  return wildreid::testing::create_fixture_model(f);
}

std::string load_error(wm::Backbone& model, std::map<std::string, at::Tensor> tensors) {
  try {
    wm::load_backbone_weights(model, std::move(tensors), {}, "test");
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(SwinLegacyLayout, RefusesPersistedBuffersThatDisagree) {
  auto f = wildreid::testing::load_model_fixture("swin_micro_legacy");
  auto tensors = wildreid::checkpoints::load_safetensors(f.weights);
  auto model = micro_model(f);
  ASSERT_EQ(load_error(*model, tensors), "");  // as written, it loads

  const std::string mask_key = "layers.0.blocks.1.attn_mask";
  ASSERT_TRUE(tensors.count(mask_key));
  auto wrong_shape = tensors;
  wrong_shape[mask_key] = at::zeros({4, 16, 16});
  EXPECT_NE(load_error(*model, wrong_shape).find(mask_key), std::string::npos);

  auto wrong_value = tensors;
  wrong_value[mask_key] = tensors[mask_key].clone().fill_(0.0);
  EXPECT_NE(load_error(*model, wrong_value).find(mask_key), std::string::npos);

  const std::string index_key = "layers.1.blocks.0.attn.relative_position_index";
  ASSERT_TRUE(tensors.count(index_key));
  auto wrong_index = tensors;
  wrong_index[index_key] = tensors[index_key].flip({0}).contiguous();
  EXPECT_NE(load_error(*model, wrong_index).find(index_key), std::string::npos);

  // A mask for a block that has no shift (stage 2 clamps its window) is refused too.
  auto extra_mask = tensors;
  extra_mask["layers.2.blocks.0.attn_mask"] = at::zeros({1, 9, 9});
  EXPECT_NE(load_error(*model, extra_mask).find("layers.2.blocks.0.attn_mask"), std::string::npos);
}

TEST(SwinLegacyLayout, ExportUsesCurrentLayoutWithoutBuffers) {
  auto f = wildreid::testing::load_model_fixture("swin_micro_legacy");
  auto model = micro_model(f);
  wm::load_backbone_weights(*model, f.weights);
  auto names = model->named_parameters(true).keys();
  for (const auto& key : {"layers.1.downsample.reduction.weight", "head.fc.weight"})
    EXPECT_NE(std::find(names.begin(), names.end(), key), names.end()) << key;
  for (const auto& name : model->named_buffers(true).keys())
    ADD_FAILURE() << "Swin must not register persistent buffers, found " << name;
}

TEST(SwinRegistry, LargeMatchesTimmParameterCountAndSpec) {
  EXPECT_EQ(wm::count_parameters("swin_large_patch4_window12_384", 1000), 196735516);  // timm: 196.74M
  const auto& spec = wm::registry().at("swin_large_patch4_window12_384").spec;
  EXPECT_EQ(spec.input_size, 384);
  EXPECT_EQ(spec.embed_dim, 1536);
  EXPECT_EQ(spec.family, "swin");
  EXPECT_NEAR(spec.mean[0], 0.485, 1e-9);
  EXPECT_NEAR(spec.std[2], 0.225, 1e-9);
  EXPECT_EQ(wm::count_parameters("swin_tiny_patch4_window7_224", 1000), 28288354);
}

TEST(SwinModel, RejectsInputOfTheWrongSize) {
  auto f = wildreid::testing::load_model_fixture("swin_micro");
  auto model = micro_model(f);
  try {
    model->forward_features(at::zeros({1, 3, 64, 64}));
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("[1, 3, 64, 64]"), std::string::npos) << e.what();
  }
}

TEST(SwinModel, ResetClassifierChangesLogitsWidthOnly) {
  auto f = wildreid::testing::load_model_fixture("swin_micro");
  auto model = micro_model(f);
  wm::load_backbone_weights(*model, f.weights);
  model->eval();
  at::NoGradGuard no_grad;
  auto embedding = model->forward_embedding(model->forward_features(f.io.at("input")));
  model->reset_classifier(5);
  EXPECT_EQ(model->forward_classifier(embedding).size(1), 5);
  model->reset_classifier(0);
  EXPECT_TRUE(at::equal(model->forward_classifier(embedding), embedding));
  EXPECT_EQ(model->classifier_prefixes(), std::vector<std::string>{"head.fc."});
}
