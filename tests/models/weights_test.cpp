// Weight loading reports and export: every missing / unexpected / shape-mismatched key is named,
// --ignore-head drops the classifier, position embeddings are resized, export round-trips.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "checkpoints/safetensors.h"
#include "models/model_weights.h"
#include "models/registry.h"
#include "tests/models/parity_util.h"

using namespace wildreid;

namespace {
std::shared_ptr<models::Backbone> fixture_model(const wildreid::testing::ModelFixture& f, int64_t num_classes,
                                                const std::string& overrides = "") {
  models::ModelOptions o;
  o.num_classes = num_classes;
  o.arch_overrides = overrides.empty() ? f.arch_overrides : overrides;
  return models::create_model(f.timm_name, o);
}

using wildreid::testing::error_of;
}  // namespace

TEST(Weights, StrictLoadNamesEveryBadKey) {
  auto f = wildreid::testing::load_model_fixture("vit_tiny");
  auto tensors = checkpoints::load_safetensors(f.weights);
  tensors.erase("blocks.1.mlp.fc2.bias");
  tensors["blocks.9.extra"] = at::zeros({1});
  tensors["norm.weight"] = at::ones({3});
  auto model = fixture_model(f, f.num_classes);
  std::string err = error_of([&] { models::load_backbone_weights(*model, tensors, {}, "'w.safetensors'"); });
  EXPECT_NE(err.find("'w.safetensors'"), std::string::npos) << err;
  EXPECT_NE(err.find("missing: blocks.1.mlp.fc2.bias"), std::string::npos) << err;
  EXPECT_NE(err.find("unexpected: blocks.9.extra"), std::string::npos) << err;
  EXPECT_NE(err.find("shape mismatch: norm.weight"), std::string::npos) << err;
  auto report = models::load_backbone_weights(*model, tensors, {.strict = false}, "w");
  EXPECT_EQ(report.missing.size(), 1u);
  EXPECT_EQ(report.unexpected.size(), 1u);
  EXPECT_EQ(report.mismatched.size(), 1u);
}

TEST(Weights, IgnoreHeadKeepsFreshClassifierForOtherClassCount) {
  auto f = wildreid::testing::load_model_fixture("convnext_atto_tiny");
  auto model = fixture_model(f, 3);
  std::string err = error_of([&] { models::load_backbone_weights(*model, f.weights); });
  EXPECT_NE(err.find("head.fc.weight"), std::string::npos) << err;
  auto report = models::load_backbone_weights(*model, f.weights, {.ignore_head = true});
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.ignored.size(), 2u);  // head.fc.weight and head.fc.bias
  EXPECT_EQ(model->forward(f.io.at("input")).size(1), 3);
}

TEST(Weights, ViTPositionEmbeddingResampledForOtherInputSize) {
  auto f = wildreid::testing::load_model_fixture("vit_tiny");
  auto model = fixture_model(f, f.num_classes,
                             R"({"img_size": 48, "patch_size": 8, "embed_dim": 64, "depth": 2, "num_heads": 4})");
  auto report = models::load_backbone_weights(*model, f.weights);
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(model->forward_features(at::randn({1, 3, 48, 48})).size(1), 37);
}

TEST(Weights, ExportThenLoadGivesSameOutputs) {
  auto f = wildreid::testing::load_model_fixture("convnext_tiny_tiny");
  auto a = fixture_model(f, f.num_classes);
  a->eval();
  auto path = std::filesystem::temp_directory_path() / ("wildreid_export_" + std::to_string(::getpid()) + ".safetensors");
  models::export_backbone(*a, path);
  auto b = fixture_model(f, f.num_classes);
  b->eval();
  models::load_backbone_weights(*b, path);
  at::NoGradGuard ng;
  EXPECT_TRUE(at::equal(a->forward(f.io.at("input")), b->forward(f.io.at("input"))));
  checkpoints::SafetensorsFile file(path);
  EXPECT_TRUE(file.contains("stages.1.downsample.1.weight"));
  EXPECT_TRUE(file.contains("head.norm.weight"));
  std::filesystem::remove(path);
}
