// See training_state.h. Layout of one checkpoint directory:
//   model.safetensors      model tensors (timm names)
//   optimizer.safetensors  optimizer state, plus extra tensors under "extra/"
//   rng.safetensors        "rank_R" -> that rank's generator state bytes
//   progress.json          counters; config.yaml  resolved config
#include "checkpoints/training_state.h"

#include <fcntl.h>
#include <ftw.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "checkpoints/atomic_file.h"
#include "checkpoints/safetensors.h"

namespace wildreid::checkpoints {
namespace fs = std::filesystem;
namespace {

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw std::runtime_error(path.string() + ": write failed");
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": missing from checkpoint");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::pair<std::string, at::Tensor>> sorted(const std::map<std::string, at::Tensor>& m,
                                                       const std::string& prefix = "") {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& [k, v] : m) out.emplace_back(prefix + k, v);
  return out;
}

// Tensors loaded from a mapped file are views of it: clone so they outlive the mapping safely.
std::map<std::string, at::Tensor> load_owned(const fs::path& path) {
  if (!fs::exists(path)) throw std::runtime_error(path.string() + ": missing from checkpoint");
  std::map<std::string, at::Tensor> out;
  for (auto& [k, v] : load_safetensors(path)) out[k] = v.clone();
  return out;
}

int remove_entry(const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }

}  // namespace

void remove_tree(const fs::path& path) {
  if (::access(path.c_str(), F_OK) != 0) return;
  if (::nftw(path.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
    throw std::runtime_error(path.string() + ": cannot delete");
}

std::string checkpoint_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "step-%09lld", static_cast<long long>(step));
  return buf;
}

fs::path save_training_state(const fs::path& checkpoints_dir, const std::string& name,
                             const TrainingState& state) {
  fs::create_directories(checkpoints_dir);
  const fs::path final_dir = checkpoints_dir / name;
  const fs::path tmp = checkpoints_dir / (".tmp-" + name + "-" + std::to_string(::getpid()));
  remove_tree(tmp);
  fs::create_directories(tmp);

  save_safetensors(tmp / "model.safetensors", state.model, state.model_metadata);
  auto optimizer = sorted(state.optimizer);
  for (auto& item : sorted(state.extra, "extra/")) optimizer.push_back(item);
  save_safetensors(tmp / "optimizer.safetensors", optimizer);
  std::vector<std::pair<std::string, at::Tensor>> rng;
  for (size_t r = 0; r < state.rng_states.size(); ++r)
    rng.emplace_back("rank_" + std::to_string(r), state.rng_states[r]);
  save_safetensors(tmp / "rng.safetensors", rng);
  nlohmann::json progress = state.progress;
  progress["world_size_of_rng"] = state.rng_states.size();
  write_text(tmp / "progress.json", progress.dump(2) + "\n");
  write_text(tmp / "config.yaml", state.config_yaml);

  for (const auto& entry : fs::directory_iterator(tmp)) fsync_path(entry.path());
  fsync_path(tmp);
  if (fs::exists(final_dir)) remove_tree(final_dir);
  fs::rename(tmp, final_dir);
  fsync_path(checkpoints_dir);
  return final_dir;
}

TrainingState load_training_state(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw std::runtime_error(dir.string() + ": not a checkpoint directory");
  TrainingState state;
  for (auto& [k, v] : load_owned(dir / "model.safetensors")) state.model.emplace_back(k, v);
  state.model_metadata = SafetensorsFile(dir / "model.safetensors").metadata();
  for (auto& [k, v] : load_owned(dir / "optimizer.safetensors")) {
    if (k.rfind("extra/", 0) == 0) state.extra[k.substr(6)] = v;
    else state.optimizer[k] = v;
  }
  const auto rng = load_owned(dir / "rng.safetensors");
  for (size_t r = 0; r < rng.size(); ++r) {
    auto it = rng.find("rank_" + std::to_string(r));
    if (it == rng.end())
      throw std::runtime_error((dir / "rng.safetensors").string() + ": missing rank_" + std::to_string(r));
    state.rng_states.push_back(it->second);
  }
  try {
    state.progress = nlohmann::json::parse(read_text(dir / "progress.json"));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error((dir / "progress.json").string() + ": " + e.what());
  }
  state.config_yaml = read_text(dir / "config.yaml");
  return state;
}

std::optional<fs::path> latest_checkpoint(const fs::path& checkpoints_dir) {
  std::optional<fs::path> best;
  if (!fs::is_directory(checkpoints_dir)) return best;
  for (const auto& entry : fs::directory_iterator(checkpoints_dir)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name.rfind("step-", 0) != 0) continue;
    if (!fs::exists(entry.path() / "progress.json")) continue;
    if (!best || name > best->filename().string()) best = entry.path();
  }
  return best;
}

}  // namespace wildreid::checkpoints
