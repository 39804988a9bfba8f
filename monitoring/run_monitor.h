// The one object the training loop talks to about observability. The loop reports what happened
// (a step, a validation, a checkpoint) in plain structs; RunMonitor turns that into Prometheus
// metrics served by this rank's exporter, the rank-0 progress line or log lines, the JSONL metrics
// log and the Prometheus file_sd targets file. The trainer never sees a metric name, a label or
// HTTP, so metric naming and the dashboard (monitoring/grafana/) can change without touching it.
//
// Threading: on_step/on_validation/on_checkpoint/set_gpu_memory are called from the training
// thread; the exporter serves scrapes from its own threads. Metrics are prometheus-cpp families
// (rank_registry.h): counters and gauges are atomics, a histogram takes a short mutex; this
// header needs none of the library's types.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "monitoring/nvml_metrics.h"

namespace wildreid::monitoring {

class RankRegistry;

// Versions reported by wildreid_build_info; empty fields take the values this library was
// compiled against (project version, LibTorch, CUDA toolkit and NCCL headers).
struct BuildInfo {
  std::string version;
  std::string torch;
  std::string cuda;   // "none" when the trainer runs without CUDA
  std::string nccl;
};

enum class ProgressMode {
  kAuto,   // a live progress line when stderr is a TTY, plain periodic log lines otherwise
  kTty,    // always the live line (\r-rewritten)
  kPlain,  // always plain log lines
  kOff,    // nothing on the console
};

struct RunMonitorOptions {
  int port = 0;                     // base port: this rank serves port + local_rank; 0 = no exporter
  std::string bind = "0.0.0.0";     // address the exporter listens on
  bool port_fallback = false;       // port taken: try the next ones (logged) instead of failing
  std::filesystem::path run_dir;    // metrics.jsonl and prometheus_targets.json go here (rank 0)
  std::string job = "wildreid";     // `job` label on every metric
  int rank = 0;
  int local_rank = 0;
  int world_size = 1;
  std::string node;                 // `node` label; empty = this host's name
  bool is_rank0 = true;             // writes the JSONL log, targets file and console progress
  ProgressMode progress = ProgressMode::kAuto;
  int64_t total_steps = 0;          // optimizer steps of the whole run, for step/total and ETA
  int64_t log_every_steps = 10;     // JSONL record and plain log line every N steps (and the last)
  double linger_seconds = 0.0;      // close() keeps /metrics up this long so a last scrape lands
  BuildInfo build;
  // GPU health through NVML (nvml_metrics.h), sampled on scrape: CUDA runs set nvml.gpu_uuid to
  // their device's UUID; CPU runs leave it empty and NVML is not loaded. Also not loaded when
  // the exporter is off (port 0): nothing would read the figures.
  NvmlOptions nvml;
};

// Seconds spent in each phase of one optimizer step (summed over its micro-steps).
struct PhaseSeconds {
  double data_wait = 0;       // blocked on the loader's prefetch queue
  double forward = 0;
  double backward = 0;        // backward compute, excluding the wait for gradient reduction
  double allreduce_wait = 0;  // blocked on the gradient allreduce after backward
  double optimizer = 0;       // unscale, clip, optimizer step, zero_grad
};

// What happened in one optimizer step on this rank.
struct StepStats {
  int64_t epoch = 0;               // 0-based
  int64_t step = 0;                // global optimizer step, 1-based, monotone across epochs
  int64_t images = 0;              // images this rank consumed in this step
  int64_t global_images = 0;       // images of all ranks in this step; 0 = images x world_size
  double loss = 0;                 // mean training loss of the step (this rank)
  double lr = 0;
  double grad_norm = 0;            // total gradient norm before clipping (NaN if not computed)
  double loss_scale = 1.0;         // fp16 loss scale; 1 without scaling
  PhaseSeconds phases;
  double step_seconds = 0;         // wall time of the whole step
  bool skipped_nonfinite = false;  // optimizer step skipped because gradients were inf/NaN
  int64_t prefetch_depth = 0;      // batches ready in the loader's queue after this step
  int64_t new_decode_errors = 0;   // images that failed to decode since the previous on_step
};

// GPU memory of this rank's device, in bytes (CUDA caching allocator figures).
struct GpuMemory {
  int64_t allocated = 0;
  int64_t reserved = 0;
  int64_t peak_allocated = 0;
};

class RunMonitor {
 public:
  // Starts the exporter when options.port != 0; throws std::runtime_error naming the address and
  // port when it cannot listen (port taken and no fallback, bad bind address).
  explicit RunMonitor(RunMonitorOptions options);
  ~RunMonitor();  // calls close()
  RunMonitor(const RunMonitor&) = delete;
  RunMonitor& operator=(const RunMonitor&) = delete;

  // The port the exporter actually listens on (after any fallback); 0 when off.
  int bound_port() const;
  // "host:port" Prometheus should scrape for this rank: the bind address when it is a specific
  // address, otherwise the node name. Empty when the exporter is off. The trainer gathers these
  // from all ranks (cluster library) and hands them to rank 0's write_targets_file().
  std::string scrape_target() const;

  void on_step(const StepStats& stats);
  void on_validation(int64_t epoch, double loss, double accuracy);
  void on_epoch_end(int64_t epoch, double mean_loss);
  void on_checkpoint(double write_seconds);
  void set_gpu_memory(const GpuMemory& memory);

  // Rank 0: writes run_dir/prometheus_targets.json (file_sd, one group per rank with its `rank`
  // label) atomically (temp file, fsync, rename). No-op on other ranks or without a run_dir.
  // targets[r] is rank r's scrape_target(); empty strings (exporter off) are skipped.
  void write_targets_file(const std::vector<std::string>& targets);

  // For other components that want to publish their own metrics on the same exporter; families
  // made through it carry this rank's job/rank/local_rank/node labels.
  RankRegistry& registry();

  // Ends the progress line, flushes the JSONL log, lingers if asked, stops the exporter.
  // Idempotent.
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wildreid::monitoring
