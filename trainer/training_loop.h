// The "loop", "validate" and "checkpoint" phases of a training run (training_run.cpp lists the
// phases): epochs of optimizer steps from the training loader, each step's device results queued
// and read on the host in batches (step_readout.h), checkpoints at checkpoint.every_steps, at
// train.max_steps and on a stop signal, and at each epoch's end validation, the best-accuracy
// bookkeeping, the epoch-end checkpoint and early stopping. Each phase is one member function.
// Without validation "best" means newest: every epoch-end checkpoint, and the one at
// train.max_steps, is marked BEST and exported as RUN/best.safetensors.
#pragma once
#include <cstdint>
#include <vector>

#include "cluster/cluster.h"
#include "monitoring/run_monitor.h"
#include "trainer/lr_schedule.h"
#include "trainer/run_checkpoints.h"
#include "trainer/run_data.h"
#include "trainer/run_model.h"
#include "trainer/step_readout.h"
#include "trainer/training_run.h"

namespace wildreid::trainer {

class TrainingLoop {
 public:
  // Everything is referenced: all must outlive the loop. `progress` is where resume() left off.
  TrainingLoop(const TrainConfig& config, cluster::Cluster& cluster, RunData& data, RunModel& model,
               RunCheckpoints& checkpoints, monitoring::RunMonitor& monitor, Progress progress);

  // Runs from `progress` to the last epoch, train.max_steps, early stopping or a stop signal.
  RunSummary run();

 private:
  // One epoch of steps from `start`; false when the run stopped inside it (its checkpoint is
  // already written).
  bool run_epoch(const data::SamplerState& start);
  // One optimizer step: the micro-batches, TrainStep, the host-side StepStats queued for reading.
  void step(int64_t epoch);
  // Reads the queued steps (collective), publishes them in order and applies what they say: the
  // non-finite streak, the epoch's loss, a stop asked for by any rank.
  void read_steps();
  // Validation (when on), the best weights, the epoch-end checkpoint; false to stop early.
  bool end_epoch(int64_t epoch);
  void checkpoint(const data::SamplerState& position, bool is_best);

  const TrainConfig& config_;
  cluster::Cluster& cluster_;
  RunData& data_;
  RunModel& model_;
  RunCheckpoints& checkpoints_;
  monitoring::RunMonitor& monitor_;
  Progress progress_;
  const BatchGeometry& geometry_;
  LrSchedule schedule_;
  int64_t read_every_ = 1;  // host reads of step results every N steps (step_readout.h)
  StepReadout readout_;
  RunSummary summary_;
  std::vector<MicroBatch> micro_;
  bool stop_ = false, preempted_ = false;
  uint64_t decode_errors_reported_ = 0;  // for the metrics' deltas
  double epoch_loss_ = 0;
  int64_t epoch_steps_ = 0;
};

}  // namespace wildreid::trainer
