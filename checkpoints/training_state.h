// A resumable training state as one checkpoint directory (GUIDE §4): model and optimizer tensors
// and every rank's RNG state as safetensors, progress counters (epoch, step, sampler position,
// schedule, best accuracy, ...) and the resolved config as text. Rank 0 writes it under a
// temporary name, fsyncs every file and the directory, then renames, so a directory named
// step-NNNNNNNNN is always complete; a crash leaves only a .tmp-* directory that resume ignores.
#pragma once
#include <ATen/Tensor.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace wildreid::checkpoints {

struct TrainingState {
  std::vector<std::pair<std::string, at::Tensor>> model;  // timm names, fp32 master weights
  std::map<std::string, std::string> model_metadata;      // model.safetensors metadata (label names)
  std::map<std::string, at::Tensor> optimizer;            // AdamW::state_dict()
  std::map<std::string, at::Tensor> extra;                // loss scaler etc., by name
  std::vector<at::Tensor> rng_states;                     // one uint8 tensor per rank
  nlohmann::json progress = nlohmann::json::object();     // epoch, step, sampler, best_acc, ...
  std::string config_yaml;                                // resolved config
};

// "step-000000123": names sort by step.
std::string checkpoint_name(int64_t step);

// Writes `state` to checkpoints_dir/name atomically (replacing an existing one of that name);
// returns the final path. Throws std::runtime_error naming the file that failed.
std::filesystem::path save_training_state(const std::filesystem::path& checkpoints_dir,
                                          const std::string& name, const TrainingState& state);

// Reads a checkpoint directory; throws std::runtime_error naming the missing/corrupt file.
TrainingState load_training_state(const std::filesystem::path& dir);

// Deletes a directory tree (nftw + unlink/rmdir). std::filesystem::remove_all must not be used
// in programs linking the torch wheel: libtorch.so exports its own broken copy of it, which
// crashes (null call) when the dynamic linker picks it.
void remove_tree(const std::filesystem::path& path);

// The newest complete checkpoint (highest step) under checkpoints_dir, if any.
std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& checkpoints_dir);

}  // namespace wildreid::checkpoints
