// The training loop of `trainer train`: builds the data pipeline, model, optimizer, reducer and
// monitor from a TrainConfig on an already started Cluster, resumes if asked, runs epochs of
// TrainStep with per-epoch validation, checkpoints (rank 0 writes, every rank's RNG gathered),
// exports the best weights, and stops cleanly on SIGTERM/SIGUSR1.
#pragma once
#include <string>

#include "cluster/cluster.h"
#include "trainer/train_config.h"

namespace wildreid::trainer {

struct RunSummary {
  int exit_code = 0;         // 0, or kPreemptedExitCode after a signal-triggered checkpoint
  int64_t steps = 0;         // optimizer steps completed (global count, across resumes)
  double best_val_accuracy = -1;
  double last_val_accuracy = -1;
  int64_t skipped_steps = 0; // non-finite steps skipped in this process
};

// `config_yaml` is the resolved config (saved in run.dir and in every checkpoint).
// Throws std::runtime_error naming the file/key/rank at fault.
RunSummary run_training(const TrainConfig& config, const std::string& config_yaml,
                        cluster::Cluster& cluster);

}  // namespace wildreid::trainer
