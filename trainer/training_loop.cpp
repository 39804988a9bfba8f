// See training_loop.h. Ordering rules that make runs reproducible and resumable:
//  - an epoch has a fixed number of optimizer steps, the same on every rank
//    (samples_per_rank / (micro_batch x accumulation)); the sampler pads ranks to equal length;
//  - a checkpoint records the loader's SamplerState after the last consumed batch, so a resume
//    replays the rest of the epoch exactly;
//  - step results are read, and ranks agree to stop, at the same steps on every rank.
#include "trainer/training_loop.h"

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "monitoring/cuda_memory.h"
#include "trainer/stop_signal.h"
#include "trainer/validation.h"

namespace wildreid::trainer {
namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
}  // namespace

TrainingLoop::TrainingLoop(const TrainConfig& config, cluster::Cluster& cluster, RunData& data, RunModel& model,
                           RunCheckpoints& checkpoints, monitoring::RunMonitor& monitor, Progress progress)
    : config_(config),
      cluster_(cluster),
      data_(data),
      model_(model),
      checkpoints_(checkpoints),
      monitor_(monitor),
      progress_(progress),
      geometry_(data.geometry),
      schedule_(config.schedule, config.lr, data.geometry.schedule_steps, config.warmup_ratio, config.min_lr) {
  // A host read waits for the GPU: on CUDA read every log_every steps unless told otherwise.
  read_every_ = config.host_read_every > 0 ? config.host_read_every
                : cluster.device().is_cuda() ? std::max<int64_t>(1, config.log_every)
                                             : 1;
  micro_.reserve(static_cast<size_t>(geometry_.accumulation));
  decode_errors_reported_ = data.train_loader->skipped_records();
  summary_.validated = data.val_loader != nullptr;
}

RunSummary TrainingLoop::run() {
  for (int64_t epoch = progress_.sampler.epoch; epoch < config_.epochs && !stop_; ++epoch) {
    const data::SamplerState start = epoch == progress_.sampler.epoch ? progress_.sampler : data::SamplerState{epoch, 0};
    if (!run_epoch(start)) break;  // stopped mid-epoch: its checkpoint is written
    if (!end_epoch(epoch)) break;
  }
  summary_.steps = progress_.step;
  summary_.best_val_accuracy = progress_.best_accuracy;
  summary_.exit_code = preempted_ ? kPreemptedExitCode : 0;
  return summary_;
}

bool TrainingLoop::run_epoch(const data::SamplerState& start) {
  data_.train_loader->start(start);
  int64_t step_in_epoch = static_cast<int64_t>(start.position) / geometry_.samples_per_step;
  epoch_loss_ = 0;
  epoch_steps_ = 0;
  while (step_in_epoch < geometry_.steps_per_epoch && !stop_) {
    step(start.epoch);
    ++step_in_epoch;
    const bool at_limit = config_.max_steps > 0 && progress_.step >= config_.max_steps;
    const bool periodic =
        config_.checkpoint_every_steps > 0 && progress_.step % config_.checkpoint_every_steps == 0;
    const bool epoch_done = step_in_epoch == geometry_.steps_per_epoch;
    if (static_cast<int64_t>(readout_.size()) >= read_every_ || at_limit || periodic || epoch_done) read_steps();
    // Mid-epoch checkpoint; at the epoch's end the epoch-end checkpoint covers it. Without
    // validation the newest weights are the best, so a run that ends at train.max_steps exports them.
    if ((stop_ || at_limit || periodic) && !epoch_done)
      checkpoint(data_.train_loader->state(), /*is_best=*/at_limit && !data_.val_loader);
    if (at_limit) stop_ = true;
  }
  if (stop_ && step_in_epoch < geometry_.steps_per_epoch) return false;
  if (epoch_steps_ > 0) monitor_.on_epoch_end(start.epoch, epoch_loss_ / static_cast<double>(epoch_steps_));
  return true;
}

void TrainingLoop::step(int64_t epoch) {
  const auto step_start = Clock::now();
  double data_wait = 0;
  micro_.clear();
  for (int64_t m = 0; m < geometry_.accumulation; ++m) {
    const auto wait_start = Clock::now();
    auto batch = data_.train_loader->next();
    data_wait += since(wait_start);
    if (!batch || batch->labels.size(0) != geometry_.micro_batch)
      throw std::runtime_error("rank " + std::to_string(cluster_.rank()) + ": training loader ended early in epoch " +
                               std::to_string(epoch));
    micro_.push_back({batch->images, batch->labels});
  }
  const double lr = schedule_.at_step(progress_.step);
  const bool inject = config_.debug_inject_inf_step == progress_.step;
  StepResult result = model_.step->run(micro_, lr, inject);
  ++progress_.step;

  monitoring::StepStats stats;  // host-side fields; read_steps() fills in the device results
  stats.epoch = epoch;
  stats.step = progress_.step;
  stats.images = geometry_.samples_per_step;
  stats.global_images = geometry_.samples_per_step * cluster_.world_size();
  stats.lr = lr;
  stats.phases.data_wait = data_wait;
  stats.step_seconds = since(step_start);
  const uint64_t skipped_records = data_.train_loader->skipped_records();
  stats.new_decode_errors = static_cast<int64_t>(skipped_records - decode_errors_reported_);
  stats.prefetch_depth = static_cast<int64_t>(data_.train_loader->prefetch_depth());
  decode_errors_reported_ = skipped_records;
  const c10::Device device = cluster_.process_group().device();
  if (device.is_cuda())
    if (auto memory = monitoring::read_cuda_memory(device.index())) monitor_.set_gpu_memory(*memory);
  readout_.push(std::move(stats), std::move(result));
}

void TrainingLoop::read_steps() {
  const Readout read = readout_.read(cluster_.process_group(), stop_requested());
  for (const ReadStep& s : read.steps) {
    summary_.skipped_steps += s.stats.skipped_nonfinite;
    progress_.nonfinite_streak = s.stats.skipped_nonfinite ? progress_.nonfinite_streak + 1 : 0;
    if (progress_.nonfinite_streak >= config_.max_nonfinite)
      throw std::runtime_error("rank " + std::to_string(cluster_.rank()) + ": " +
                               std::to_string(progress_.nonfinite_streak) + " non-finite steps in a row (last at step " +
                               std::to_string(s.stats.step) + "); lower optim.lr or use amp: fp16 loss scaling / bf16");
    if (!s.stats.skipped_nonfinite) {
      epoch_loss_ += s.mean_loss;
      ++epoch_steps_;
    }
    monitor_.on_step(s.stats);
  }
  if (read.stop) stop_ = preempted_ = true;
}

bool TrainingLoop::end_epoch(int64_t epoch) {
  bool is_best = true;  // without validation the newest weights are the export
  if (data_.val_loader) {
    const Objective& objective = *model_.objective;
    const auto val = validate(*model_.model, [&objective](const at::Tensor& x) { return objective.class_logits(x); },
                              *data_.val_loader, data_.val_indices.size(), cluster_.process_group(), config_.amp, epoch);
    monitor_.on_validation(epoch, val.loss, val.accuracy);
    summary_.last_val_accuracy = val.accuracy;
    is_best = val.accuracy > progress_.best_accuracy;
    if (is_best) {
      progress_.best_accuracy = val.accuracy;
      progress_.epochs_without_improvement = 0;
    } else {
      ++progress_.epochs_without_improvement;
    }
  }
  checkpoint({epoch + 1, 0}, is_best);  // resumes at the start of the next epoch
  if (config_.early_stopping_patience > 0 && progress_.epochs_without_improvement >= config_.early_stopping_patience) {
    if (cluster_.rank() == 0)
      std::fprintf(stderr, "trainer: early stopping after %lld epochs without improvement\n",
                   static_cast<long long>(progress_.epochs_without_improvement));
    return false;
  }
  return true;
}

void TrainingLoop::checkpoint(const data::SamplerState& position, bool is_best) {
  monitor_.on_checkpoint(checkpoints_.save(progress_, position, is_best));
}

}  // namespace wildreid::trainer
