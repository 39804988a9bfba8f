// Every training metric's name, help, type and buckets in one place, with cached handles: the
// naming contract the Grafana dashboard (monitoring/grafana/) and its integration test rely on.
// Prometheus conventions: prefix wildreid_, base units (seconds, bytes, ratio), _total counters.
#pragma once
#include <string>

#include "monitoring/metrics.h"
#include "monitoring/registry.h"

namespace wildreid::monitoring {

struct TrainMetrics {
  explicit TrainMetrics(Registry& registry);

  Counter& images;              // wildreid_train_images_total
  Counter& steps;               // wildreid_train_steps_total
  Gauge& loss;                  // wildreid_train_loss
  Gauge& learning_rate;         // wildreid_train_learning_rate
  Gauge& grad_norm;             // wildreid_train_grad_norm
  Gauge& loss_scale;            // wildreid_train_loss_scale
  Gauge& epoch;                 // wildreid_train_epoch
  Gauge& total_steps;           // wildreid_train_total_steps (planned), for progress panels
  Histogram& step_seconds;      // wildreid_train_step_seconds
  Counter& phase_data_wait;     // wildreid_train_phase_seconds_total{phase=...}
  Counter& phase_forward;
  Counter& phase_backward;
  Counter& phase_allreduce_wait;
  Counter& phase_optimizer;
  Counter& skipped_nonfinite;   // wildreid_train_nonfinite_skipped_steps_total
  Counter& decode_errors;       // wildreid_data_decode_errors_total
  Gauge& prefetch_depth;        // wildreid_data_prefetch_queue_depth
  Counter& checkpoint_writes;   // wildreid_checkpoint_writes_total
  Counter& checkpoint_seconds;  // wildreid_checkpoint_write_seconds_total
  Gauge& checkpoint_last_seconds;  // wildreid_checkpoint_last_write_seconds

  // Created on first use so a run without validation or CUDA exposes no fake values.
  Gauge& validation_loss();     // wildreid_validation_loss
  Gauge& validation_accuracy(); // wildreid_validation_accuracy (ratio 0..1)
  Gauge& gpu_allocated();       // wildreid_gpu_memory_allocated_bytes
  Gauge& gpu_reserved();        // wildreid_gpu_memory_reserved_bytes
  Gauge& gpu_peak_allocated();  // wildreid_gpu_memory_peak_allocated_bytes

 private:
  Registry& registry_;
};

// wildreid_build_info{version,torch,cuda,nccl} 1.
void register_build_info(Registry& registry, const std::string& version, const std::string& torch,
                         const std::string& cuda, const std::string& nccl);

}  // namespace wildreid::monitoring
