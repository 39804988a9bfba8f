// The "resume" and "checkpoint" phases of a training run (training_run.cpp lists the phases):
// what a checkpoint holds beyond the weights (Progress), reading the one to continue from
// (`resume: auto | off | PATH`), and writing one collectively: every rank's RNG is gathered,
// rank 0 writes the directory (checkpoints/training_state.h: temporary name, fsync, rename),
// marks and exports the best weights (RUN/best.safetensors, with the objective's metadata and the
// label names) and
// applies retention, while the other ranks wait on the rendezvous store with
// checkpoint.wait_timeout_s rather than in a collective that a multi-GB write could outlast.
#pragma once
#include <filesystem>
#include <map>
#include <string>

#include "cluster/cluster.h"
#include "data/distributed_sampler.h"
#include "trainer/run_data.h"
#include "trainer/run_model.h"
#include "trainer/train_config.h"

namespace wildreid::trainer {

// Progress counters stored in a checkpoint's progress.json.
struct Progress {
  int64_t step = 0;                // optimizer steps done
  data::SamplerState sampler;      // where the training loader resumes
  double best_accuracy = -1;       // best validation top-1 so far (-1: none yet; null in progress.json)
  int64_t epochs_without_improvement = 0;
  int64_t nonfinite_streak = 0;
};

class RunCheckpoints {
 public:
  // Everything is referenced, not copied: all must outlive this object.
  RunCheckpoints(const TrainConfig& config, const std::string& config_yaml, cluster::Cluster& cluster,
                 RunModel& model, const BatchGeometry& geometry);

  // Loads the checkpoint `resume` names (the newest under RUN/checkpoints for auto) into the
  // model, optimizer, loss scaler and this rank's RNG, and returns its progress; a fresh Progress
  // without one. Throws naming the checkpoint when it was written with another batch geometry.
  Progress resume();

  // Collective: every rank calls it at the same step. `position` is where the training loader
  // resumes; `is_best` also marks it BEST and exports RUN/best.safetensors. Returns the seconds it
  // took on this rank (write or wait).
  double save(const Progress& progress, const data::SamplerState& position, bool is_best);

  const std::filesystem::path& directory() const { return dir_; }

 private:
  const TrainConfig& config_;
  const std::string& config_yaml_;
  cluster::Cluster& cluster_;
  RunModel& model_;
  const BatchGeometry& geometry_;
  std::filesystem::path run_dir_, dir_;
  std::map<std::string, std::string> label_names_;  // the shard set's label map, into every weights file
};

}  // namespace wildreid::trainer
