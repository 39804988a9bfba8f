// The priority sequence shared by this project's CPU allocator wrappers (CpuMemoryCounter,
// CpuBlockCache): c10 only replaces the CPU allocator with one of equal or higher priority, so
// every install and every restore takes the next number, whichever wrapper makes it.
#pragma once
#include <cstdint>

namespace wildreid::models {

inline uint8_t next_cpu_allocator_priority() {
  static uint8_t priority = 100;
  if (priority < 255) ++priority;  // 255 stays: an equal priority still replaces
  return priority;
}

}  // namespace wildreid::models
