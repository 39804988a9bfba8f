// Metric definitions. Step-time buckets span 1 ms .. ~65 s (x2), which covers a CPU smoke run
// and a ViT-L step on a small GPU alike.
#include "monitoring/train_metrics.h"

namespace wildreid::monitoring {
namespace {

prometheus::Counter& phase(RankRegistry& r, const char* name) {
  return r.counter("wildreid_train_phase_seconds_total",
                   "Seconds spent per phase of the optimizer step, summed over micro-steps")
      .Add({{"phase", name}});
}

// 0.001, 0.002, ..., 65.536 (17 bounds; +Inf is implicit).
prometheus::Histogram::BucketBoundaries step_buckets() {
  prometheus::Histogram::BucketBoundaries bounds;
  for (double b = 0.001; bounds.size() < 17; b *= 2) bounds.push_back(b);
  return bounds;
}

}  // namespace

TrainMetrics::TrainMetrics(RankRegistry& r)
    : images(r.counter("wildreid_train_images_total", "Training images consumed by this rank").Add({})),
      steps(r.counter("wildreid_train_steps_total", "Optimizer steps taken by this rank").Add({})),
      loss(r.gauge("wildreid_train_loss", "Training loss of the last optimizer step").Add({})),
      learning_rate(r.gauge("wildreid_train_learning_rate", "Learning rate of the last optimizer step").Add({})),
      grad_norm(r.gauge("wildreid_train_grad_norm", "Total gradient norm before clipping, last step").Add({})),
      loss_scale(r.gauge("wildreid_train_loss_scale", "fp16 loss scale (1 without loss scaling)").Add({})),
      epoch(r.gauge("wildreid_train_epoch", "Current epoch (0-based)").Add({})),
      total_steps(r.gauge("wildreid_train_total_steps", "Optimizer steps planned for the run").Add({})),
      step_seconds(r.histogram("wildreid_train_step_seconds", "Wall time of one optimizer step")
                       .Add({}, step_buckets())),
      phase_data_wait(phase(r, "data_wait")),
      phase_forward(phase(r, "forward")),
      phase_backward(phase(r, "backward")),
      phase_allreduce_wait(phase(r, "allreduce_wait")),
      phase_optimizer(phase(r, "optimizer")),
      skipped_nonfinite(r.counter("wildreid_train_nonfinite_skipped_steps_total",
                                  "Optimizer steps skipped because gradients were inf or NaN").Add({})),
      decode_errors(r.counter("wildreid_data_decode_errors_total",
                              "Training images that failed to read or decode").Add({})),
      prefetch_depth(r.gauge("wildreid_data_prefetch_queue_depth",
                             "Batches ready in the loader's prefetch queue").Add({})),
      checkpoint_writes(r.counter("wildreid_checkpoint_writes_total", "Checkpoints written").Add({})),
      checkpoint_seconds(r.counter("wildreid_checkpoint_write_seconds_total",
                                   "Seconds spent writing checkpoints").Add({})),
      checkpoint_last_seconds(r.gauge("wildreid_checkpoint_last_write_seconds",
                                      "Seconds the last checkpoint write took").Add({})),
      registry_(r) {}

prometheus::Gauge& TrainMetrics::validation_loss() {
  return registry_.gauge("wildreid_validation_loss", "Validation loss of the last evaluation").Add({});
}
prometheus::Gauge& TrainMetrics::validation_accuracy() {
  return registry_.gauge("wildreid_validation_accuracy",
                         "Validation top-1 accuracy of the last evaluation (ratio 0..1)").Add({});
}
prometheus::Gauge& TrainMetrics::gpu_allocated() {
  return registry_.gauge("wildreid_gpu_memory_allocated_bytes",
                         "Bytes allocated by tensors on this rank's GPU").Add({});
}
prometheus::Gauge& TrainMetrics::gpu_reserved() {
  return registry_.gauge("wildreid_gpu_memory_reserved_bytes",
                         "Bytes reserved by the CUDA caching allocator on this rank's GPU").Add({});
}
prometheus::Gauge& TrainMetrics::gpu_peak_allocated() {
  return registry_.gauge("wildreid_gpu_memory_peak_allocated_bytes",
                         "Peak bytes allocated on this rank's GPU").Add({});
}

void register_build_info(RankRegistry& registry, const std::string& version,
                         const std::string& torch, const std::string& cuda,
                         const std::string& nccl) {
  registry.gauge("wildreid_build_info", "Build versions; the value is always 1")
      .Add({{"version", version}, {"torch", torch}, {"cuda", cuda}, {"nccl", nccl}})
      .Set(1);
}

}  // namespace wildreid::monitoring
