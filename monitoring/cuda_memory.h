// GPU memory figures for RunMonitor::set_gpu_memory, read from LibTorch's CUDA caching
// allocator. The only LibTorch-dependent file of monitoring/, built as its own small library
// (wildreid_monitoring_cuda) so wildreid_monitoring itself stays torch-free.
#pragma once
#include <optional>

#include "monitoring/run_monitor.h"

namespace wildreid::monitoring {

// Allocated/reserved/peak bytes of CUDA device `device_index`; nullopt when CUDA is not
// available (CPU runs expose no GPU series at all rather than zeros).
std::optional<GpuMemory> read_cuda_memory(int device_index);

}  // namespace wildreid::monitoring
