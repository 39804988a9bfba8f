// A caching CPU allocator for training and embedding loops. A training step allocates and frees
// the same large activation and gradient buffers every iteration; glibc hands blocks above its
// mmap threshold back to the kernel on free (and trims its heap), so every step page-faults and
// zero-fills hundreds of MB again: on one core, convnext_atto at 128 px spent a fifth of its step
// in the kernel for that. While a CpuBlockCache exists it is LibTorch's CPU allocator: blocks of at
// least `min_block_bytes` come from blocks freed earlier (the smallest cached block that is at
// most `max_slack` larger than the request), so steady-state steps touch no new pages; smaller
// blocks go straight to c10's allocator. Freed large blocks stay cached until the cache is
// destroyed, trim() is called or `max_cached_bytes` would be exceeded. Blocks still alive when the
// cache goes are freed normally later. The allocator is global: a CpuBlockCache made while another
// is active shares that one (its options and stats) and changes nothing when it goes, so a library
// call that installs one (embedding) also runs inside a caller's. A CpuMemoryCounter installed on
// top of a cache still counts exactly, and restores it.
#pragma once
#include <cstddef>
#include <cstdint>

namespace c10 { struct Allocator; }

namespace wildreid::models {

struct CpuBlockCacheOptions {
  size_t min_block_bytes = size_t{1} << 20;  // smaller requests bypass the cache
  double max_slack = 0.25;                   // a cached block may be this fraction larger than asked
  int64_t max_cached_bytes = int64_t{1} << 40;  // free bytes kept at most (default: unbounded)
};

struct CpuBlockCacheStats {
  int64_t reused = 0;        // large requests served from the cache
  int64_t fresh = 0;         // large requests that needed a new block
  int64_t cached_bytes = 0;  // bytes of free blocks held now
  int64_t block_bytes = 0;   // bytes of all large blocks, free or in use
};

class CpuBlockCache {
 public:
  explicit CpuBlockCache(CpuBlockCacheOptions options = {});
  ~CpuBlockCache();  // the outermost: restores the previous allocator, frees the cached blocks
  CpuBlockCache(const CpuBlockCache&) = delete;
  CpuBlockCache& operator=(const CpuBlockCache&) = delete;

  CpuBlockCacheStats stats() const;
  void trim();  // frees every cached (free) block

 private:
  c10::Allocator* previous_ = nullptr;  // null when sharing an active cache
};

}  // namespace wildreid::models
