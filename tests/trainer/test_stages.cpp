// Multi-stage training as the reference work did it: stage 1 fine-tunes on WildlifeReID-10k,
// stage 2 on AnimalCLEF starts from stage 1's best.safetensors with a new head for its own label
// set. The two ConvNeXt-XL recipes in configs/ are used as they are, with only the data, the run
// folders and a tiny model size overridden; stage 2's starting model is built by the trainer's
// own model phase (trainer/run_model.h) and compared with stage 1's export tensor by tensor.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "checkpoints/retention.h"
#include "checkpoints/safetensors.h"
#include "checkpoints/training_state.h"
#include "tests/trainer/tiny_recipe_run.h"
#include "trainer/config_loader.h"
#include "trainer/run_model.h"

namespace fs = std::filesystem;
using namespace wildreid;
using tests::recipe_train_command;
using tests::tiny_overrides;

namespace {

const fs::path kStage1 = "configs/convnext_xlarge_wildlifereid10k.yaml";
const fs::path kStage2 = "configs/convnext_xlarge_animalclef.yaml";
fs::path g_root;

int run(const std::string& command) { return tests::run_logged(command, g_root / "log.txt"); }

class Stages : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_root = fs::temp_directory_path() / ("wildreid-stages-" + std::to_string(::getpid()));
    checkpoints::remove_tree(g_root);
    fs::create_directories(g_root);
    // Two label sets: 2 identities per synth dataset (6 classes), then 3 (9 classes).
    ASSERT_EQ(tests::make_synth_shards(g_root / "first-shards", 2, 12, g_root / "log.txt"), 0);
    ASSERT_EQ(tests::make_synth_shards(g_root / "second-shards", 3, 12, g_root / "log.txt"), 0);
  }
  static void TearDownTestSuite() { checkpoints::remove_tree(g_root); }
};

}  // namespace

TEST_F(Stages, RecipesChainTheSecondStageOffTheFirstStagesBestWeights) {
  const auto first = trainer::load_config(kStage1, {});
  for (const fs::path& recipe : {kStage2, fs::path("configs/convnext_xlarge_animalclef_cosine.yaml")}) {
    const auto second = trainer::load_config(recipe, {});
    EXPECT_EQ(fs::path(second.init_from), fs::path(first.run_dir) / "best.safetensors") << recipe;
    EXPECT_TRUE(second.init_new_head) << recipe;
    EXPECT_EQ(second.model_arch, first.model_arch) << recipe;
    EXPECT_EQ(second.model_img_size, first.model_img_size) << recipe;
    EXPECT_NE(second.data_shards, first.data_shards) << recipe;
  }
}

TEST_F(Stages, SecondStageStartsFromTheFirstStagesBackboneExactly) {
  const fs::path run1 = g_root / "stage1", run2 = g_root / "stage2";
  ASSERT_EQ(run(recipe_train_command(kStage1, tiny_overrides(g_root / "first-shards", run1, ""))), 0);
  const fs::path best = run1 / "best.safetensors";
  ASSERT_TRUE(fs::exists(best));
  std::map<std::string, at::Tensor> exported;
  for (auto& [name, tensor] : checkpoints::load_safetensors(best)) exported[name] = tensor.clone();

  // Stage 2's starting model, built by the trainer's model phase from the stage 2 recipe.
  const auto config = trainer::load_config(kStage2, tiny_overrides(g_root / "second-shards", run2, best.string()));
  const auto model = trainer::create_backbone(config, /*num_classes=*/9);
  size_t compared = 0;
  for (const auto& item : model->named_parameters()) {
    const std::string& name = item.key();
    if (name.rfind("head.fc.", 0) == 0) {  // the new head: 9 classes, not stage 1's 6
      EXPECT_EQ(item.value().size(0), 9) << name;
      EXPECT_EQ(exported.at(name).size(0), 6) << name;
      continue;
    }
    ASSERT_TRUE(exported.count(name)) << name;
    EXPECT_TRUE(at::equal(item.value(), exported.at(name))) << name << " differs from stage 1's export";
    ++compared;
  }
  for (const auto& item : model->named_buffers())
    if (exported.count(item.key())) EXPECT_TRUE(at::equal(item.value(), exported.at(item.key()))) << item.key();
  EXPECT_GT(compared, 50u);

  // Keeping stage 1's head on the new label set is refused, naming the classifier.
  auto keep_head = config;
  keep_head.init_new_head = false;
  try {
    trainer::create_backbone(keep_head, 9);
    ADD_FAILURE() << "init.new_head=false with 9 classes over a 6-class head was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("head.fc.weight"), std::string::npos) << e.what();
  }

  // And the second stage trains end to end on its own label set.
  ASSERT_EQ(run(recipe_train_command(kStage2, tiny_overrides(g_root / "second-shards", run2, best.string()))), 0);
  const auto latest = checkpoints::latest_checkpoint(run2 / "checkpoints");
  ASSERT_TRUE(latest.has_value());
  const auto state = checkpoints::load_training_state(*latest);
  for (const auto& [name, tensor] : state.model)
    if (name == "head.fc.weight") EXPECT_EQ(tensor.size(0), 9);
}
