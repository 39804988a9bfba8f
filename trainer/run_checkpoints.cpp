// See run_checkpoints.h.
#include "trainer/run_checkpoints.h"

#include <chrono>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <thread>

#include "checkpoints/retention.h"
#include "checkpoints/training_state.h"
#include "models/model_weights.h"
#include "trainer/label_names.h"
#include "trainer/rng_state.h"

namespace wildreid::trainer {
namespace fs = std::filesystem;

RunCheckpoints::RunCheckpoints(const TrainConfig& config, const std::string& config_yaml, cluster::Cluster& cluster,
                               RunModel& model, const BatchGeometry& geometry)
    : config_(config),
      config_yaml_(config_yaml),
      cluster_(cluster),
      model_(model),
      geometry_(geometry),
      run_dir_(config.run_dir),
      dir_(run_dir_ / "checkpoints"),
      label_names_(label_names_metadata_of(config.data_shards)) {}

Progress RunCheckpoints::resume() {
  Progress progress;
  std::optional<fs::path> from;
  if (config_.resume == "auto") from = checkpoints::latest_checkpoint(dir_);
  else if (config_.resume != "off" && !config_.resume.empty()) from = fs::path(config_.resume);
  if (!from) return progress;

  const auto state = checkpoints::load_training_state(*from);
  std::map<std::string, at::Tensor> weights(state.model.begin(), state.model.end());
  models::WeightLoadOptions strict;
  models::load_backbone_weights(*model_.model, weights, strict, from->string());
  model_.optimizer->load_state_dict(state.optimizer);
  if (state.extra.count("scaler/scale"))
    model_.scaler->load_state({state.extra.at("scaler/scale"), state.extra.at("scaler/growth_tracker")});
  const auto& p = state.progress;
  try {
    progress.step = p.at("step").get<int64_t>();
    progress.sampler = data::parse_sampler_state(p.at("sampler").get<std::string>());
    const auto& best = p.at("best_accuracy");  // null: no validation has run (older files: -1)
    progress.best_accuracy = best.is_null() ? -1.0 : best.get<double>();
    progress.epochs_without_improvement = p.at("epochs_without_improvement").get<int64_t>();
    progress.nonfinite_streak = p.at("nonfinite_streak").get<int64_t>();
    if (p.at("world_size").get<int>() != cluster_.world_size() ||
        p.at("accumulation").get<int64_t>() != geometry_.accumulation ||
        p.at("micro_batch").get<int64_t>() != geometry_.micro_batch)
      throw std::runtime_error("was written with a different world size / micro_batch / accumulation; "
                               "exact resume needs the same batch geometry");
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error((*from / "progress.json").string() + ": " + e.what());
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(from->string() + ": " + e.what());
  }
  const int rank = cluster_.rank();
  if (static_cast<size_t>(rank) < state.rng_states.size()) restore_rng_state(state.rng_states[rank]);
  if (rank == 0)
    std::fprintf(stderr, "trainer: resumed from %s at step %lld (epoch %lld, position %llu)\n", from->c_str(),
                 static_cast<long long>(progress.step), static_cast<long long>(progress.sampler.epoch),
                 static_cast<unsigned long long>(progress.sampler.position));
  return progress;
}

double RunCheckpoints::save(const Progress& progress, const data::SamplerState& position, bool is_best) {
  const auto start = std::chrono::steady_clock::now();
  cluster::ProcessGroup& group = cluster_.process_group();
  const at::Tensor rng = capture_rng_state();
  std::vector<at::Tensor> all_rng = group.allgather(rng.to(group.device()));
  const std::string name = checkpoints::checkpoint_name(progress.step);
  if (cluster_.rank() == 0) {
    checkpoints::TrainingState state;
    for (const auto& item : model_.model->named_parameters()) state.model.emplace_back(item.key(), item.value().detach());
    for (const auto& item : model_.model->named_buffers()) state.model.emplace_back(item.key(), item.value().detach());
    state.optimizer = model_.optimizer->state_dict();
    const auto scaler_state = model_.scaler->state();
    state.extra["scaler/scale"] = scaler_state[0];
    state.extra["scaler/growth_tracker"] = scaler_state[1];
    for (auto& t : all_rng) state.rng_states.push_back(t.cpu());
    state.progress = {{"step", progress.step},
                      {"sampler", data::to_string(position)},
                      {"best_accuracy", progress.best_accuracy >= 0 ? nlohmann::json(progress.best_accuracy) : nlohmann::json()},
                      {"epochs_without_improvement", progress.epochs_without_improvement},
                      {"nonfinite_streak", progress.nonfinite_streak},
                      {"world_size", cluster_.world_size()},
                      {"micro_batch", geometry_.micro_batch},
                      {"accumulation", geometry_.accumulation},
                      {"arch", config_.model_arch}};
    for (const auto& [key, value] : model_.objective->export_options().metadata) state.progress[key] = value;
    state.config_yaml = config_yaml_;
    state.model_metadata = label_names_;
    checkpoints::save_training_state(dir_, name, state);
    if (is_best) {
      checkpoints::mark_best_checkpoint(dir_, name);
      auto best = model_.objective->export_options();
      best.metadata.insert(label_names_.begin(), label_names_.end());
      models::export_backbone(*model_.model, run_dir_ / "best.safetensors", best);
    }
    checkpoints::apply_retention(dir_, static_cast<int>(config_.checkpoint_keep_last));
    if (config_.debug_checkpoint_delay_s > 0)
      std::this_thread::sleep_for(std::chrono::duration<double>(config_.debug_checkpoint_delay_s));
  }
  // The others wait for rank 0's write on the store, with a timeout of its own: writing and
  // fsyncing several GB can take longer than any step collective is allowed to.
  cluster_.wait_for_rank0("writing checkpoint " + name,
                          std::chrono::milliseconds(static_cast<int64_t>(config_.checkpoint_wait_timeout_s * 1000)));
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace wildreid::trainer
