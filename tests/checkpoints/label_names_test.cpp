// Label names in weights metadata: written and read back in class order (through a safetensors
// file and a training-state checkpoint), absent -> empty, malformed -> an error naming the source.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "checkpoints/label_names.h"
#include "checkpoints/safetensors.h"
#include "checkpoints/training_state.h"

using namespace wildreid::checkpoints;
namespace fs = std::filesystem;

namespace {
const std::vector<LabelName> kNames = {{"LynxID2025", "LynxID2025_lynx_01"},
                                       {"SeaTurtleID2022", "t002"},
                                       {"SalamanderID2025", "name with \"quotes\", commas / slashes"}};
}

TEST(LabelNames, RoundTripThroughSafetensorsMetadata) {
  const fs::path path = fs::temp_directory_path() / ("wildreid_labels_" + std::to_string(::getpid()) + ".safetensors");
  save_safetensors(path, {{"w", at::ones({3, 2})}}, label_names_metadata(kNames));
  EXPECT_EQ(read_label_names(SafetensorsFile(path).metadata(), path.string()), kNames);
  ::unlink(path.c_str());
}

TEST(LabelNames, TravelWithTrainingStateCheckpoints) {
  const fs::path dir = fs::temp_directory_path() / ("wildreid_labels_ckpt_" + std::to_string(::getpid()));
  TrainingState state;
  state.model = {{"head.fc.weight", at::ones({3, 2})}};
  state.model_metadata = label_names_metadata(kNames);
  const fs::path saved = save_training_state(dir, checkpoint_name(5), state);
  EXPECT_EQ(read_label_names(load_training_state(saved).model_metadata, saved.string()), kNames);
  EXPECT_EQ(read_label_names(SafetensorsFile(saved / "model.safetensors").metadata(), "model"), kNames);
  remove_tree(dir);
}

TEST(LabelNames, AbsentIsEmptyMalformedIsNamed) {
  EXPECT_TRUE(read_label_names({{"format", "pt"}}, "w.safetensors").empty());
  for (const char* bad : {"{\"a\": 1}", "[[\"d\"]]", "[[\"d\", 3]]", "not json"}) {
    try {
      read_label_names({{kLabelNamesKey, bad}}, "w.safetensors");
      ADD_FAILURE() << "accepted " << bad;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("w.safetensors: metadata 'label_names'"), std::string::npos) << e.what();
    }
  }
}
