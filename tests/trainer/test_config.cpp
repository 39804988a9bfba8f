// Config loading (unknown keys, wrong types, overrides, round trip of the resolved YAML) and the
// training-state checkpoint directory (bitwise round trip, atomic naming, retention).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "checkpoints/retention.h"
#include "checkpoints/training_state.h"
#include "trainer/config_loader.h"
#include "trainer/run_data.h"

using namespace wildreid;
namespace fs = std::filesystem;

namespace {
std::string error_of(const std::string& yaml, std::vector<std::string> overrides = {}) {
  try {
    trainer::parse_config(yaml, "recipe.yaml", overrides);
  } catch (const trainer::ConfigError& e) {
    return e.what();
  }
  return "";
}
fs::path temp_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("wildreid-" + name + "-" + std::to_string(::getpid()));
  checkpoints::remove_tree(dir);
  fs::create_directories(dir);
  return dir;
}
}  // namespace

TEST(Config, ParsesNestedKeysAndOverrides) {
  const auto c = trainer::parse_config(
      "data:\n  shards: /d\ntrain:\n  micro_batch: 4\n  accumulation: 8\noptim:\n  lr: 8e-5\n"
      "  schedule: linear\namp: bf16\nresume: off\n",
      "recipe.yaml", {"optim.lr=4e-5", "train.epochs=3"});
  EXPECT_EQ(c.data_shards, "/d");
  EXPECT_EQ(c.micro_batch, 4);
  EXPECT_EQ(c.accumulation, 8);
  EXPECT_DOUBLE_EQ(c.lr, 4e-5);
  EXPECT_EQ(c.epochs, 3);
  EXPECT_EQ(c.schedule, trainer::LrScheduleKind::kLinear);
  EXPECT_EQ(c.amp, trainer::AmpMode::kBf16);
  EXPECT_EQ(c.resume, "off");
}

TEST(Config, UnknownKeyNamesFileLineAndKey) {
  const std::string e = error_of("train:\n  epochs: 2\n  micro_bach: 4\n");
  EXPECT_NE(e.find("recipe.yaml:3"), std::string::npos) << e;
  EXPECT_NE(e.find("train.micro_bach"), std::string::npos) << e;
  EXPECT_NE(error_of("", {"optim.lrr=1"}).find("optim.lrr"), std::string::npos);
}

TEST(Config, WrongTypeNamesKeyAndExpectedType) {
  const std::string e = error_of("optim:\n  lr: fast\n");
  EXPECT_NE(e.find("optim.lr"), std::string::npos) << e;
  EXPECT_NE(e.find("float"), std::string::npos) << e;
  EXPECT_NE(error_of("amp: fp8\n").find("bf16|fp16|off"), std::string::npos);
  EXPECT_NE(error_of("train:\n  micro_batch: 2.5\n").find("train.micro_batch"), std::string::npos);
  EXPECT_NE(error_of("train:\n  micro_batch: 0\n").find("micro_batch"), std::string::npos);
  EXPECT_NE(error_of("", {"novalue"}).find("key=value"), std::string::npos);
}

TEST(Config, LossTypeAndIdentityBatchesParseAndAreChecked) {
  const auto c = trainer::parse_config("loss:\n  type: arcface\n  arcface_margin: 0.3\n  arcface_scale: 30\n"
                                       "data:\n  instances_per_identity: 4\ntrain:\n  micro_batch: 16\n",
                                       "recipe.yaml", {});
  EXPECT_EQ(c.loss, trainer::LossKind::kArcFace);
  EXPECT_DOUBLE_EQ(c.arcface_margin, 0.3);
  EXPECT_DOUBLE_EQ(c.arcface_scale, 30);
  EXPECT_EQ(c.data_instances_per_identity, 4);
  EXPECT_EQ(trainer::parse_config("", "x", {}).loss, trainer::LossKind::kCrossEntropy);
  EXPECT_NE(error_of("loss:\n  type: triplet\n").find("ce|arcface"), std::string::npos);
  EXPECT_NE(error_of("", {"loss.arcface_scale=0"}).find("loss.arcface_scale"), std::string::npos);
  EXPECT_NE(error_of("", {"loss.arcface_margin=2"}).find("loss.arcface_margin"), std::string::npos);
  const std::string e = error_of("", {"train.micro_batch=6", "data.instances_per_identity=4"});
  EXPECT_NE(e.find("multiple of data.instances_per_identity"), std::string::npos) << e;
}

TEST(Config, AugmentKeysReachTheTrainTransformOnly) {
  const auto c = trainer::parse_config(
      "augment:\n  rotation: 15\n  brightness: 0.4\n  contrast: 0.3\n  saturation: 0.2\n  hue: 0.1\n"
      "  auto_augment: true\n  erasing_p: 0.5\n",
      "recipe.yaml", {});
  models::ModelSpec spec;
  spec.mean = {0.5, 0.5, 0.5};
  spec.std = {0.25, 0.25, 0.25};
  const data::TransformOptions train = trainer::transforms_for(c, spec, 128, true);
  EXPECT_TRUE(train.train);
  EXPECT_EQ(train.size, 128);
  EXPECT_DOUBLE_EQ(train.rotation_degrees, 15);
  EXPECT_DOUBLE_EQ(train.brightness, 0.4);
  EXPECT_DOUBLE_EQ(train.contrast, 0.3);
  EXPECT_DOUBLE_EQ(train.saturation, 0.2);
  EXPECT_DOUBLE_EQ(train.hue, 0.1);
  EXPECT_TRUE(train.auto_augment);
  EXPECT_DOUBLE_EQ(train.erasing_p, 0.5);
  EXPECT_FLOAT_EQ(train.std[1], 0.25f);
  const data::TransformOptions eval = trainer::transforms_for(c, spec, 128, false);
  EXPECT_FALSE(eval.train);
  EXPECT_DOUBLE_EQ(eval.rotation_degrees, 0);
  EXPECT_FALSE(eval.auto_augment);
  EXPECT_DOUBLE_EQ(eval.erasing_p, 0);
  // Defaults: crop + flip only, as before the keys existed.
  const data::TransformOptions plain = trainer::transforms_for(trainer::parse_config("", "x", {}), spec, 64, true);
  EXPECT_DOUBLE_EQ(plain.rotation_degrees, 0);
  EXPECT_DOUBLE_EQ(plain.brightness + plain.contrast + plain.saturation + plain.hue, 0);
  EXPECT_FALSE(plain.auto_augment);
  EXPECT_DOUBLE_EQ(plain.erasing_p, 0);
  EXPECT_NE(error_of("", {"augment.hue=0.7"}).find("augment.hue"), std::string::npos);
  EXPECT_NE(error_of("", {"augment.erasing_p=2"}).find("augment.erasing_p"), std::string::npos);
  EXPECT_NE(error_of("", {"augment.rotation=-1"}).find("augment.rotation"), std::string::npos);
}

TEST(Config, ResolvedYamlRoundTrips) {
  const auto c = trainer::parse_config("model:\n  arch: swin_large\noptim:\n  lr: 8e-5\n", "x",
                                       {"amp=fp16", "loss.type=arcface", "data.instances_per_identity=2"});
  const auto again = trainer::parse_config(trainer::config_to_yaml(c), "resolved", {});
  EXPECT_EQ(trainer::config_to_yaml(c), trainer::config_to_yaml(again));
  EXPECT_EQ(again.model_arch, "swin_large");
  EXPECT_DOUBLE_EQ(again.lr, 8e-5);
  EXPECT_EQ(again.amp, trainer::AmpMode::kFp16);
  EXPECT_EQ(again.loss, trainer::LossKind::kArcFace);
  EXPECT_EQ(again.data_instances_per_identity, 2);
}

TEST(Config, RecipesInConfigsParse) {
  const fs::path configs = fs::path(std::getenv("WILDREID_SOURCE") ? std::getenv("WILDREID_SOURCE") : ".") / "configs";
  int count = 0;
  for (const auto& entry : fs::directory_iterator(configs)) {
    if (entry.path().extension() != ".yaml") continue;
    // identify_*.yaml are `trainer identify` configs, parsed by tests/identify and tests/matching.
    if (entry.path().filename().string().rfind("identify_", 0) == 0) continue;
    EXPECT_NO_THROW(trainer::load_config(entry.path(), {})) << entry.path();
    ++count;
  }
  EXPECT_GE(count, 5);
}

TEST(TrainingState, RoundTripsBitwiseAndIgnoresTempDirs) {
  const fs::path dir = temp_dir("state");
  checkpoints::TrainingState state;
  state.model = {{"stem.weight", at::randn({4, 3})}, {"head.bias", at::randn({5})}};
  state.optimizer = {{"exp_avg/stem.weight", at::randn({4, 3})}, {"step/stem.weight", at::full({}, 3.0f)}};
  state.extra = {{"scaler/scale", at::full({1}, 1024.0f)}};
  state.rng_states = {at::randint(0, 255, {16}, at::kByte), at::randint(0, 255, {16}, at::kByte)};
  state.progress = {{"epoch", 1}, {"step", 7}, {"sampler_position", 12}};
  state.config_yaml = "amp: off\n";
  checkpoints::save_training_state(dir, checkpoints::checkpoint_name(7), state);
  fs::create_directories(dir / ".tmp-step-000000009-1");  // a crashed writer's leftovers
  const auto latest = checkpoints::latest_checkpoint(dir);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->filename(), "step-000000007");
  const auto loaded = checkpoints::load_training_state(*latest);
  ASSERT_EQ(loaded.model.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const auto& [name, tensor] = loaded.model[i];
    bool found = false;
    for (const auto& [n, t] : state.model)
      if (n == name) found = at::equal(t, tensor);
    EXPECT_TRUE(found) << name;
  }
  EXPECT_TRUE(at::equal(loaded.optimizer.at("step/stem.weight"), state.optimizer.at("step/stem.weight")));
  EXPECT_TRUE(at::equal(loaded.extra.at("scaler/scale"), state.extra.at("scaler/scale")));
  ASSERT_EQ(loaded.rng_states.size(), 2u);
  EXPECT_TRUE(at::equal(loaded.rng_states[1], state.rng_states[1]));
  EXPECT_EQ(loaded.progress.at("step"), 7);
  EXPECT_EQ(loaded.config_yaml, "amp: off\n");
  checkpoints::remove_tree(dir);
}

TEST(TrainingState, MissingFileIsNamed) {
  const fs::path dir = temp_dir("broken");
  checkpoints::TrainingState state;
  state.model = {{"w", at::ones({2})}};
  const auto saved = checkpoints::save_training_state(dir, checkpoints::checkpoint_name(1), state);
  fs::remove(saved / "optimizer.safetensors");
  try {
    checkpoints::load_training_state(saved);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("optimizer.safetensors"), std::string::npos) << e.what();
  }
  checkpoints::remove_tree(dir);
}

TEST(Retention, KeepsLastKAndBest) {
  const fs::path dir = temp_dir("retention");
  checkpoints::TrainingState state;
  state.model = {{"w", at::ones({2})}};
  for (int step : {1, 2, 3, 4}) checkpoints::save_training_state(dir, checkpoints::checkpoint_name(step), state);
  checkpoints::mark_best_checkpoint(dir, checkpoints::checkpoint_name(1));
  fs::create_directories(dir / ".tmp-step-000000005-9");
  checkpoints::apply_retention(dir, 2);
  EXPECT_TRUE(fs::exists(dir / "step-000000001"));
  EXPECT_FALSE(fs::exists(dir / "step-000000002"));
  EXPECT_TRUE(fs::exists(dir / "step-000000003"));
  EXPECT_TRUE(fs::exists(dir / "step-000000004"));
  EXPECT_FALSE(fs::exists(dir / ".tmp-step-000000005-9"));
  EXPECT_EQ(checkpoints::best_checkpoint(dir)->filename(), "step-000000001");
  checkpoints::remove_tree(dir);
}
