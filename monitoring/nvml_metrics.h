// GPU health per rank, the figures people look at first on a DCGM dashboard: utilisation, device
// memory used/total, power and temperature of this rank's GPU, read through NVML
// (nvml_library.h, opened at run time) whenever a scrape arrives (the exporter's before-scrape
// hook), so the training step never pays for them and they are fresh in every scrape.
//
// The GPU is the one the trainer drives: the trainer passes its CUDA device's UUID (the same UUID
// it checks across ranks, cluster/nccl_process_group.h), which names one physical GPU whatever
// CUDA_VISIBLE_DEVICES renumbered; NVML's own device index is not the CUDA index.
//
// Nothing here can stop a run. No library, no nvmlInit, no such GPU: no GPU series at all and one
// log line saying why. A reading that fails later (GPU lost, power not supported): that series
// leaves the scrape until the reading works again, also said once. "Once" is per process and per
// message, not per scrape.
//
// Series (plus the rank's job/rank/local_rank/node labels), each with gpu (NVML's index, as
// nvidia-smi numbers GPUs) and uuid labels:
//   wildreid_gpu_utilization_ratio     fraction of NVML's last sample period a kernel ran (0..1)
//   wildreid_gpu_memory_used_bytes     device memory in use, all processes (NVML, not the allocator)
//   wildreid_gpu_memory_total_bytes    device memory size
//   wildreid_gpu_power_watts           board power draw
//   wildreid_gpu_temperature_celsius   GPU die temperature
#pragma once
#include <functional>
#include <memory>
#include <string>

namespace wildreid::monitoring {

class RankRegistry;

struct NvmlOptions {
  // This rank's GPU as a UUID: "GPU-" + 32 hex digits, with or without NVML's dashes
  // (cluster::gpu_uuid gives it without). Empty: nvml_index is used instead.
  std::string gpu_uuid;
  // NVML's device index (nvidia-smi's numbering, which ignores CUDA_VISIBLE_DEVICES); -1 = none.
  int nvml_index = -1;
  // dlopen name of the NVML library; tests point it at a fake.
  std::string library = "libnvidia-ml.so.1";
  // Where the "not exported" and start-up lines go; default: stderr.
  std::function<void(const std::string&)> log;

  // Neither a UUID nor an index: a CPU run; NVML is not even loaded.
  bool wanted() const { return !gpu_uuid.empty() || nvml_index >= 0; }
};

class NvmlMetrics {
 public:
  // Loads NVML and finds the GPU when options.wanted(); never throws for a missing or failing
  // NVML (see the header comment).
  NvmlMetrics(RankRegistry& registry, NvmlOptions options);
  ~NvmlMetrics();  // nvmlShutdown and dlclose; no refresh() may be running
  NvmlMetrics(const NvmlMetrics&) = delete;
  NvmlMetrics& operator=(const NvmlMetrics&) = delete;

  // NVML loaded, initialised and this rank's GPU found.
  bool active() const;
  // Reads every figure and updates (or withdraws) its series. Thread-safe; a no-op when inactive.
  void refresh();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wildreid::monitoring
