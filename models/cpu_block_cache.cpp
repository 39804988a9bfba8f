// See cpu_block_cache.h. Data pointer and context are the same pointer (oneDNN's raw_allocate
// requires that), so block sizes are kept in a map, which also tells a cached block from a small
// one at free time. Requests are rounded up to whole pages so that near-equal sizes share blocks.
// c10 only replaces an allocator with one of equal or higher priority, so install and restore
// take the next priority of the shared sequence (models/cpu_allocator_priority.h).
#include "models/cpu_block_cache.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

#include "models/cpu_allocator_priority.h"

namespace wildreid::models {
namespace {

constexpr size_t kPage = 4096;

class BlockCacheAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t n) override {
    if (n < options_.min_block_bytes) {
      void* p = c10::alloc_cpu(n);
      return {p, p, &c10::free_cpu, c10::Device(c10::kCPU)};
    }
    const size_t want = (n + kPage - 1) / kPage * kPage;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.lower_bound(want);
      if (it != free_.end() && static_cast<double>(it->first) <= static_cast<double>(want) * (1 + options_.max_slack)) {
        void* p = it->second;
        stats_.cached_bytes -= static_cast<int64_t>(it->first);
        free_.erase(it);
        ++stats_.reused;
        return {p, p, &release, c10::Device(c10::kCPU)};
      }
    }
    void* p = c10::alloc_cpu(want);
    std::lock_guard<std::mutex> lock(mutex_);
    sizes_[p] = want;
    ++stats_.fresh;
    stats_.block_bytes += static_cast<int64_t>(want);
    return {p, p, &release, c10::Device(c10::kCPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }
  void copy_data(void* dest, const void* src, std::size_t count) const override { std::memcpy(dest, src, count); }

  static BlockCacheAllocator& instance() {
    static BlockCacheAllocator a;
    return a;
  }

  // False when a cache is already active (the caller shares it).
  bool activate(const CpuBlockCacheOptions& options) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (active_) return false;
    active_ = true;
    options_ = options;
    const int64_t block_bytes = stats_.block_bytes;  // blocks of an earlier cache still in use
    stats_ = {};
    stats_.block_bytes = block_bytes;
    return true;
  }
  // Inactive first, so a block another thread frees meanwhile is freed, not cached past the end.
  void deactivate() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      active_ = false;
    }
    trim();
  }
  void trim() {
    std::multimap<size_t, void*> drop;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      drop.swap(free_);
      for (const auto& [size, p] : drop) {
        sizes_.erase(p);
        stats_.block_bytes -= static_cast<int64_t>(size);
      }
      stats_.cached_bytes = 0;
    }
    for (const auto& block : drop) c10::free_cpu(block.second);
  }
  CpuBlockCacheStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

 private:
  // Frees a block of this allocator: cached while a cache is active and under its byte limit.
  static void release(void* p) {
    auto& a = instance();
    {
      std::lock_guard<std::mutex> lock(a.mutex_);
      auto it = a.sizes_.find(p);
      if (it != a.sizes_.end()) {
        const auto size = static_cast<int64_t>(it->second);
        if (a.active_ && a.stats_.cached_bytes + size <= a.options_.max_cached_bytes) {
          a.free_.emplace(it->second, p);
          a.stats_.cached_bytes += size;
          return;
        }
        a.stats_.block_bytes -= size;
        a.sizes_.erase(it);
      }
    }
    c10::free_cpu(p);
  }

  std::mutex mutex_;
  bool active_ = false;
  CpuBlockCacheOptions options_;
  std::unordered_map<void*, size_t> sizes_;  // every large block, free or in use
  std::multimap<size_t, void*> free_;        // cached blocks by size
  CpuBlockCacheStats stats_;
};

}  // namespace

CpuBlockCache::CpuBlockCache(CpuBlockCacheOptions options) {
  auto& cache = BlockCacheAllocator::instance();
  c10::Allocator* previous = c10::GetCPUAllocator();
  if (!cache.activate(options)) return;
  previous_ = previous;
  c10::SetCPUAllocator(&cache, next_cpu_allocator_priority());
}

CpuBlockCache::~CpuBlockCache() {
  if (!previous_) return;
  c10::SetCPUAllocator(previous_, next_cpu_allocator_priority());
  BlockCacheAllocator::instance().deactivate();
}

CpuBlockCacheStats CpuBlockCache::stats() const { return BlockCacheAllocator::instance().stats(); }
void CpuBlockCache::trim() { BlockCacheAllocator::instance().trim(); }

}  // namespace wildreid::models
