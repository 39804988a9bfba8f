// c10::cuda::CUDACachingAllocator::getDeviceStats, aggregate over pool types.
#include "monitoring/cuda_memory.h"

#include <c10/core/Allocator.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>

namespace wildreid::monitoring {

std::optional<GpuMemory> read_cuda_memory(int device_index) {
  if (device_index < 0 || device_index >= static_cast<int>(c10::cuda::device_count()))
    return std::nullopt;
  const auto stats =
      c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(device_index));
  const auto aggregate = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
  GpuMemory m;
  m.allocated = stats.allocated_bytes[aggregate].current;
  m.reserved = stats.reserved_bytes[aggregate].current;
  m.peak_allocated = stats.allocated_bytes[aggregate].peak;
  return m;
}

}  // namespace wildreid::monitoring
