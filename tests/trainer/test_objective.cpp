// The training objective (loss.type): ArcFace on the classifier's weight rows against the formula
// (margin on the target class, scale, cross-entropy), the unused bias zero and left out of the
// optimizer, and best.safetensors' ArcFace export: unit rows and a zero bias, so a plain Linear
// classifier ranks classes as the cosine does, with the loss named in the metadata. The
// cross-entropy objective is the backbone's logits as before.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "checkpoints/safetensors.h"
#include "checkpoints/training_state.h"
#include "models/heads.h"
#include "models/model_weights.h"
#include "models/registry.h"
#include "trainer/objective.h"

using namespace wildreid;
namespace fs = std::filesystem;

namespace {
std::shared_ptr<models::Backbone> tiny_convnext(int64_t classes) {
  at::manual_seed(0);
  models::ModelOptions o;
  o.num_classes = classes;
  o.arch_overrides = R"({"depths": [1, 1, 1, 1], "dims": [8, 16, 24, 32]})";
  auto model = models::create_model("convnext_tiny", o);
  model->train();
  return model;
}
trainer::TrainConfig arcface_config() {
  trainer::TrainConfig c;
  c.loss = trainer::LossKind::kArcFace;
  c.arcface_margin = 0.5;
  c.arcface_scale = 64;
  c.label_smoothing = 0.1;
  return c;
}
}  // namespace

TEST(Objective, ArcFaceLossIsMarginCrossEntropyOnTheClassifierRows) {
  auto model = tiny_convnext(5);
  const trainer::Objective objective(*model, arcface_config());
  const at::Tensor images = at::randn({4, 3, 32, 32});
  const at::Tensor labels = at::tensor({0, 3, 4, 1}, at::kLong);
  const at::Tensor embedding = objective.forward(images);
  ASSERT_EQ(embedding.size(1), 32);  // the embedding, not 5 logits
  const at::Tensor weight = model->named_parameters()["head.fc.weight"];
  const at::Tensor expected = at::cross_entropy_loss(
      models::arcface_margin_logits(embedding, weight, labels, {0.5, 64.0}), labels, {}, at::Reduction::Mean, -100, 0.1);
  EXPECT_NEAR(objective.loss(embedding, labels).item<double>(), expected.item<double>(), 1e-5);
  // Inference logits: 64 x cosine, no margin.
  const at::Tensor e = embedding / embedding.norm(2, {1}, true);
  const at::Tensor w = weight / weight.norm(2, {1}, true);
  EXPECT_TRUE(at::allclose(objective.class_logits(images), 64.0 * at::matmul(e, w.t()), 1e-4, 1e-4));
  // The margin makes the target's logit smaller than its plain cosine logit.
  const at::Tensor margin = models::arcface_margin_logits(embedding, weight, labels, {0.5, 64.0});
  for (int64_t i = 0; i < 4; ++i)
    EXPECT_LT(margin[i][labels[i].item<int64_t>()].item<double>(),
              (64.0 * at::matmul(e, w.t()))[i][labels[i].item<int64_t>()].item<double>());
}

TEST(Objective, ArcFaceBiasIsZeroAndNotTrained) {
  auto model = tiny_convnext(5);
  {
    at::NoGradGuard no_grad;
    model->named_parameters()["head.fc.bias"].fill_(0.25);
  }
  const trainer::Objective objective(*model, arcface_config());
  const at::Tensor bias = model->named_parameters()["head.fc.bias"];
  EXPECT_EQ(bias.abs().max().item<double>(), 0.0);
  EXPECT_FALSE(bias.requires_grad());
  bool has_weight = false;
  for (const auto& [name, tensor] : objective.trainable_parameters()) {
    EXPECT_NE(name, "head.fc.bias");
    has_weight |= name == "head.fc.weight";
  }
  EXPECT_TRUE(has_weight);
  EXPECT_EQ(objective.trainable_parameters().size() + 1, model->parameters().size());
}

TEST(Objective, ArcFaceExportHasUnitRowsZeroBiasAndTheLossInItsMetadata) {
  auto model = tiny_convnext(6);
  const trainer::Objective objective(*model, arcface_config());
  {
    at::NoGradGuard no_grad;  // rows of very different lengths, as training leaves them
    model->named_parameters()["head.fc.weight"].mul_(at::arange(1, 7, at::kFloat).view({6, 1}));
  }
  const fs::path file = fs::temp_directory_path() / ("wildreid-arcface-" + std::to_string(::getpid()) + ".safetensors");
  models::export_backbone(*model, file, objective.export_options());
  checkpoints::SafetensorsFile exported(file);
  EXPECT_EQ(exported.metadata().at("loss"), "arcface");
  EXPECT_DOUBLE_EQ(std::stod(exported.metadata().at("arcface_margin")), 0.5);
  EXPECT_DOUBLE_EQ(std::stod(exported.metadata().at("arcface_scale")), 64.0);
  const at::Tensor w = exported.tensor("head.fc.weight");
  EXPECT_TRUE(at::allclose(w.norm(2, {1}), at::ones({6}), 1e-5, 1e-5));
  EXPECT_EQ(exported.tensor("head.fc.bias").abs().max().item<double>(), 0.0);
  // A plain Linear with the exported rows ranks classes as ArcFace's cosine logits do.
  const at::Tensor images = at::randn({8, 3, 32, 32});
  at::NoGradGuard no_grad;
  const at::Tensor linear = at::linear(objective.forward(images), w);
  EXPECT_TRUE(at::equal(linear.argmax(1), objective.class_logits(images).argmax(1)));
  // The model's own weight is unchanged (checkpoints keep the raw rows for an exact resume).
  const at::Tensor norms = model->named_parameters()["head.fc.weight"].norm(2, {1});
  EXPECT_GT((norms.max() / norms.min()).item<double>(), 3.0);
  checkpoints::remove_tree(file);
}

TEST(Objective, CrossEntropyIsTheClassifierLogitsWithLabelSmoothing) {
  auto model = tiny_convnext(5);
  trainer::TrainConfig config;
  config.label_smoothing = 0.1;
  const trainer::Objective objective(*model, config);
  const at::Tensor images = at::randn({3, 3, 32, 32});
  const at::Tensor labels = at::tensor({0, 2, 4}, at::kLong);
  const at::Tensor logits = objective.forward(images);
  EXPECT_TRUE(at::allclose(logits, model->forward(images)));
  EXPECT_NEAR(objective.loss(logits, labels).item<double>(),
              models::label_smoothing_cross_entropy(logits, labels, 0.1).item<double>(), 1e-6);
  EXPECT_EQ(objective.export_options().metadata.at("loss"), "ce");
  EXPECT_TRUE(objective.export_options().replace.empty());
  EXPECT_EQ(objective.trainable_parameters().size(), model->parameters().size());
}

TEST(Objective, ArcFaceWithoutClassifierNamesTheModel) {
  auto model = tiny_convnext(0);
  try {
    trainer::Objective objective(*model, arcface_config());
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("convnext_tiny"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("num_classes"), std::string::npos) << e.what();
  }
}
