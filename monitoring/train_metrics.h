// Every training metric's name, help, type and buckets in one place, with cached handles: the
// naming contract the Grafana dashboard (monitoring/grafana/) and its integration test rely on
// (tests/monitoring/fixtures/metric_families.txt records it).
// Prometheus conventions: prefix wildreid_, base units (seconds, bytes, ratio), _total counters.
#pragma once
#include <string>

#include "monitoring/rank_registry.h"

namespace wildreid::monitoring {

struct TrainMetrics {
  explicit TrainMetrics(RankRegistry& registry);

  prometheus::Counter& images;              // wildreid_train_images_total
  prometheus::Counter& steps;               // wildreid_train_steps_total
  prometheus::Gauge& loss;                  // wildreid_train_loss
  prometheus::Gauge& learning_rate;         // wildreid_train_learning_rate
  prometheus::Gauge& grad_norm;             // wildreid_train_grad_norm
  prometheus::Gauge& loss_scale;            // wildreid_train_loss_scale
  prometheus::Gauge& epoch;                 // wildreid_train_epoch
  prometheus::Gauge& total_steps;           // wildreid_train_total_steps (planned), for progress panels
  prometheus::Histogram& step_seconds;      // wildreid_train_step_seconds
  prometheus::Counter& phase_data_wait;     // wildreid_train_phase_seconds_total{phase=...}
  prometheus::Counter& phase_forward;
  prometheus::Counter& phase_backward;
  prometheus::Counter& phase_allreduce_wait;
  prometheus::Counter& phase_optimizer;
  prometheus::Counter& skipped_nonfinite;   // wildreid_train_nonfinite_skipped_steps_total
  prometheus::Counter& decode_errors;       // wildreid_data_decode_errors_total
  prometheus::Gauge& prefetch_depth;        // wildreid_data_prefetch_queue_depth
  prometheus::Counter& checkpoint_writes;   // wildreid_checkpoint_writes_total
  prometheus::Counter& checkpoint_seconds;  // wildreid_checkpoint_write_seconds_total
  prometheus::Gauge& checkpoint_last_seconds;  // wildreid_checkpoint_last_write_seconds

  // Created on first use so a run without validation or CUDA exposes no fake values.
  prometheus::Gauge& validation_loss();     // wildreid_validation_loss
  prometheus::Gauge& validation_accuracy(); // wildreid_validation_accuracy (ratio 0..1)
  prometheus::Gauge& gpu_allocated();       // wildreid_gpu_memory_allocated_bytes
  prometheus::Gauge& gpu_reserved();        // wildreid_gpu_memory_reserved_bytes
  prometheus::Gauge& gpu_peak_allocated();  // wildreid_gpu_memory_peak_allocated_bytes

 private:
  RankRegistry& registry_;
};

// wildreid_build_info{version,torch,cuda,nccl} 1.
void register_build_info(RankRegistry& registry, const std::string& version,
                         const std::string& torch, const std::string& cuda,
                         const std::string& nccl);

}  // namespace wildreid::monitoring
