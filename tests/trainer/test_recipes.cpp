// Recipes in configs/ that no other test runs, run as they are on a tiny synth set (only data,
// run folder, model size and cluster settings overridden: tests/trainer/tiny_recipe_run.h).
// configs/megadescriptor_l384_arcface.yaml: MegaDescriptor-L-384's backbone with ArcFace m = 0.5,
// s = 64. One optimizer step with the recipe's loss settings gives a finite loss, and the run,
// ended by train.max_steps with validation off, exports what the identify stage reads from a run
// directory: best.safetensors with the ArcFace class centres as unit rows, a zero bias, the loss in
// the metadata and label names for every row (read through the same calls `trainer embed` uses).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "checkpoints/label_names.h"
#include "checkpoints/retention.h"
#include "checkpoints/safetensors.h"
#include "checkpoints/training_state.h"
#include "checkpoints/weights_file.h"
#include "tests/trainer/tiny_recipe_run.h"
#include "trainer/config_loader.h"

namespace fs = std::filesystem;
using namespace wildreid;

namespace {

const fs::path kMegaDescriptor = "configs/megadescriptor_l384_arcface.yaml";

class Recipes : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("wildreid-recipes-" + std::to_string(::getpid()));
    checkpoints::remove_tree(root_);
    fs::create_directories(root_);
    ASSERT_EQ(tests::make_synth_shards(root_ / "shards", 2, 12, root_ / "log.txt"), 0);  // 6 classes
  }
  static void TearDownTestSuite() { checkpoints::remove_tree(root_); }
  static fs::path root_;
};
fs::path Recipes::root_;

}  // namespace

TEST_F(Recipes, MegaDescriptorArcFaceRecipeSaysWhatItReproduces) {
  const auto config = trainer::load_config(kMegaDescriptor, {});
  EXPECT_EQ(config.model_arch, "swin_large_patch4_window12_384");
  EXPECT_EQ(config.model_img_size, 384);
  EXPECT_EQ(config.loss, trainer::LossKind::kArcFace);
  EXPECT_DOUBLE_EQ(config.arcface_margin, 0.5);
  EXPECT_DOUBLE_EQ(config.arcface_scale, 64.0);
  EXPECT_TRUE(config.init_new_head);
  // The optimizer settings are the project's Swin-L recipe, as the header comment says.
  const auto swin = trainer::load_config("configs/swin_large_384.yaml", {});
  EXPECT_EQ(config.model_arch, swin.model_arch);
  EXPECT_DOUBLE_EQ(config.lr, swin.lr);
  EXPECT_DOUBLE_EQ(config.weight_decay, swin.weight_decay);
  EXPECT_EQ(config.epochs, swin.epochs);
  EXPECT_EQ(config.micro_batch, swin.micro_batch);
  EXPECT_EQ(config.schedule, swin.schedule);
}

TEST_F(Recipes, MegaDescriptorArcFaceTrainsAStepAndExportsWhatIdentifyReads) {
  const fs::path run_dir = root_ / "megadescriptor";
  auto sets = tests::tiny_overrides(root_ / "shards", run_dir, "");
  sets.push_back("train.max_steps=1");
  const auto log_size = fs::file_size(root_ / "log.txt");
  ASSERT_EQ(tests::run_logged(tests::recipe_train_command(kMegaDescriptor, sets), root_ / "log.txt"), 0);
  std::ifstream log(root_ / "log.txt");
  log.seekg(static_cast<std::streamoff>(log_size));
  const std::string output((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(output.find("finished at step 1, validation off (train.validate=false)"), std::string::npos) << output;
  EXPECT_EQ(output.find("-1.0000"), std::string::npos) << output;

  // The step: logged (the last step always is), finite loss, nothing skipped.
  std::ifstream jsonl(run_dir / "metrics.jsonl");
  int steps = 0;
  for (std::string line; std::getline(jsonl, line);) {
    const auto record = nlohmann::json::parse(line);
    if (record["type"] != "step") continue;
    ++steps;
    EXPECT_EQ(record["step"], 1);
    ASSERT_TRUE(record["loss"].is_number()) << line;  // NaN/Inf are written as null
    EXPECT_TRUE(std::isfinite(record["loss"].get<double>())) << line;
    EXPECT_GT(record["loss"].get<double>(), 0.0) << line;
    EXPECT_EQ(record["skipped_nonfinite_total"], 0) << line;
  }
  EXPECT_EQ(steps, 1);

  // Without validation the newest weights are the best: the max_steps checkpoint is BEST and exported,
  // and its progress.json has no accuracy to be read as a score.
  const auto best_checkpoint = checkpoints::best_checkpoint(run_dir / "checkpoints");
  ASSERT_TRUE(best_checkpoint.has_value());
  EXPECT_EQ(best_checkpoint->filename(), "step-000000001");
  EXPECT_TRUE(checkpoints::load_training_state(*best_checkpoint).progress.at("best_accuracy").is_null());

  const fs::path best = run_dir / "best.safetensors";
  ASSERT_TRUE(fs::exists(best));
  const auto metadata = checkpoints::read_weights_metadata(best);
  EXPECT_EQ(metadata.at("loss"), "arcface");
  EXPECT_DOUBLE_EQ(std::stod(metadata.at("arcface_margin")), 0.5);
  EXPECT_DOUBLE_EQ(std::stod(metadata.at("arcface_scale")), 64.0);
  const auto names = checkpoints::read_label_names(metadata, best.string());
  checkpoints::SafetensorsFile weights(best);
  const at::Tensor centres = weights.tensor("head.fc.weight");
  ASSERT_EQ(centres.size(0), 6);
  EXPECT_EQ(static_cast<int64_t>(names.size()), centres.size(0));
  EXPECT_TRUE(at::allclose(centres.norm(2, {1}), at::ones({6}), 1e-5, 1e-5));
  EXPECT_EQ(weights.tensor("head.fc.bias").abs().max().item<double>(), 0.0);
}
