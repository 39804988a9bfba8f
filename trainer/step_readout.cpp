// See step_readout.h.
#include "trainer/step_readout.h"

#include <ATen/ATen.h>

namespace wildreid::trainer {

void StepReadout::push(monitoring::StepStats stats, StepResult result) {
  queue_.emplace_back(std::move(stats), std::move(result));
}

Readout StepReadout::read(cluster::ProcessGroup& group, bool stop_here) {
  const size_t n = queue_.size();
  const auto f64 = at::TensorOptions().dtype(at::kDouble).device(group.device());
  // Shared across ranks: [stop flag, loss of each queued step].
  at::Tensor shared = at::zeros({static_cast<int64_t>(1 + n)}, f64);
  shared[0].fill_(stop_here ? 1.0 : 0.0);
  // Local: [grad norm, skip flag, loss scale] per step.
  std::vector<at::Tensor> local;
  for (size_t i = 0; i < n; ++i) {
    const StepResult& r = queue_[i].second;
    shared[static_cast<int64_t>(1 + i)].copy_(r.loss.reshape({}));
    local.push_back(r.grad_norm.reshape({}).to(f64));
    local.push_back(r.skipped.reshape({}).to(f64));
    local.push_back(r.loss_scale.reshape({}).to(f64));
  }
  const at::Tensor local_losses = shared.narrow(0, 1, static_cast<int64_t>(n)).clone();
  group.allreduce(shared, cluster::ReduceOp::kSum);
  const at::Tensor host = at::cat({shared, local_losses, n ? at::stack(local) : at::zeros({0}, f64)}).cpu();
  const double* v = host.data_ptr<double>();
  const double* losses = v + 1 + n;
  const double* per_step = v + 1 + 2 * n;

  Readout out;
  out.stop = v[0] > 0;
  for (size_t i = 0; i < n; ++i) {
    ReadStep step;
    step.stats = queue_[i].first;
    step.stats.loss = losses[i];
    step.stats.grad_norm = per_step[3 * i];
    step.stats.skipped_nonfinite = per_step[3 * i + 1] != 0;
    step.stats.loss_scale = per_step[3 * i + 2];
    const PhaseTimes p = queue_[i].second.phases ? queue_[i].second.phases->read() : PhaseTimes{};
    step.stats.phases.forward = p.forward;
    step.stats.phases.backward = p.backward;
    step.stats.phases.allreduce_wait = p.allreduce_wait;
    step.stats.phases.optimizer = p.optimizer;
    step.mean_loss = v[1 + i] / group.size();
    out.steps.push_back(std::move(step));
  }
  queue_.clear();
  return out;
}

}  // namespace wildreid::trainer
