// `trainer train`'s run on an already started Cluster, as a list of named phases (run dir, data,
// model, resume, monitoring, loop) in training_run.cpp, each in a file of its own: run_data.h,
// run_model.h, run_checkpoints.h, training_loop.h. It trains epochs of TrainStep with per-epoch
// validation, checkpoints (rank 0 writes, every rank's RNG gathered), exports the best weights,
// and stops cleanly on SIGTERM/SIGUSR1.
#pragma once
#include <string>

#include "cluster/cluster.h"
#include "trainer/train_config.h"

namespace wildreid::trainer {

struct RunSummary {
  int exit_code = 0;         // 0, or kPreemptedExitCode after a signal-triggered checkpoint
  int64_t steps = 0;         // optimizer steps completed (global count, across resumes)
  bool validated = false;    // a val split was evaluated each epoch (train.validate and a val split)
  double best_val_accuracy = -1;  // -1 until a validation ran (never printed or stored as a score)
  double last_val_accuracy = -1;
  int64_t skipped_steps = 0; // non-finite steps skipped in this process
};

// `config_yaml` is the resolved config (saved in run.dir and in every checkpoint).
// Throws std::runtime_error naming the file/key/rank at fault.
RunSummary run_training(const TrainConfig& config, const std::string& config_yaml,
                        cluster::Cluster& cluster);

}  // namespace wildreid::trainer
