// Steps whose results are still on the device. Reading a GPU value on the host waits for the GPU,
// so the training loop queues each step here and reads the whole queue in one go: every
// `read_every` steps (the logging interval on CUDA, every step on CPU, where reading is free) and
// wherever the loop must know (checkpoints, the end of an epoch, the last step). The read is also
// where ranks agree: one allreduce of {stop flag, every queued step's loss} gives all ranks the
// same stop decision and the rank-mean losses, so stopping on SIGTERM/SIGUSR1 happens at a read
// (within read_every steps). Every rank reads at the same steps (a collective).
#pragma once
#include <vector>

#include "cluster/process_group.h"
#include "monitoring/run_monitor.h"
#include "trainer/train_step.h"

namespace wildreid::trainer {

struct ReadStep {
  monitoring::StepStats stats;  // host fields as queued, device fields filled in
  double mean_loss = 0;         // loss averaged over ranks
};

struct Readout {
  std::vector<ReadStep> steps;  // in step order
  bool stop = false;            // some rank asked to stop
};

class StepReadout {
 public:
  // `stats` carries what the host knows (epoch, step, images, lr, data wait, wall time, ...);
  // loss, grad norm, loss scale, skip flag and phase times come from `result` at read().
  void push(monitoring::StepStats stats, StepResult result);
  size_t size() const { return queue_.size(); }
  // Reads every queued step (one device->host copy, one allreduce) and empties the queue. With an
  // empty queue it still agrees on `stop_here` (the allreduce carries only the flag).
  Readout read(cluster::ProcessGroup& group, bool stop_here);

 private:
  std::vector<std::pair<monitoring::StepStats, StepResult>> queue_;
};

}  // namespace wildreid::trainer
