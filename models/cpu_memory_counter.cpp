// See cpu_memory_counter.h. Data pointer and context are the same pointer (oneDNN's raw_allocate
// requires that), so sizes are kept in a map. Install and restore take the next priority of the
// shared sequence (models/cpu_allocator_priority.h).
#include "models/cpu_memory_counter.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "models/cpu_allocator_priority.h"

namespace wildreid::models {
namespace {

class CountingAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t n) override {
    void* p = c10::alloc_cpu(n);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      sizes_[p] = {n, generation_};
      current_ += static_cast<int64_t>(n);
      peak_ = std::max(peak_, current_);
    }
    return {p, p, &release, c10::Device(c10::kCPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }
  void copy_data(void* dest, const void* src, std::size_t count) const override { std::memcpy(dest, src, count); }

  // A new count: blocks of an earlier counter still alive are no longer counted when freed.
  void reset() {
    std::lock_guard<std::mutex> lock(mutex_);
    current_ = peak_ = 0;
    ++generation_;
  }
  void reset_peak() {
    std::lock_guard<std::mutex> lock(mutex_);
    peak_ = current_;
  }
  int64_t peak() {
    std::lock_guard<std::mutex> lock(mutex_);
    return peak_;
  }
  int64_t current() {
    std::lock_guard<std::mutex> lock(mutex_);
    return current_;
  }
  static CountingAllocator& instance() {
    static CountingAllocator a;
    return a;
  }
  bool active = false;

 private:
  static void release(void* p) {
    auto& a = instance();
    {
      std::lock_guard<std::mutex> lock(a.mutex_);
      auto it = a.sizes_.find(p);
      if (it != a.sizes_.end()) {
        if (it->second.second == a.generation_) a.current_ -= static_cast<int64_t>(it->second.first);
        a.sizes_.erase(it);
      }
    }
    c10::free_cpu(p);
  }
  std::mutex mutex_;
  std::unordered_map<void*, std::pair<size_t, uint64_t>> sizes_;  // size, generation
  int64_t current_ = 0, peak_ = 0;
  uint64_t generation_ = 0;
};

}  // namespace

CpuMemoryCounter::CpuMemoryCounter() : previous_(c10::GetCPUAllocator()) {
  auto& counting = CountingAllocator::instance();
  if (counting.active) throw std::logic_error("CpuMemoryCounter: another counter is active");
  counting.active = true;
  counting.reset();
  c10::SetCPUAllocator(&counting, next_cpu_allocator_priority());
}

CpuMemoryCounter::~CpuMemoryCounter() {
  c10::SetCPUAllocator(previous_, next_cpu_allocator_priority());
  CountingAllocator::instance().active = false;
}

int64_t CpuMemoryCounter::current() const { return CountingAllocator::instance().current(); }
int64_t CpuMemoryCounter::peak() const { return CountingAllocator::instance().peak(); }
void CpuMemoryCounter::reset_peak() { CountingAllocator::instance().reset_peak(); }

}  // namespace wildreid::models
