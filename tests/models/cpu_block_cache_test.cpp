// The caching CPU allocator (models/cpu_block_cache.h): large blocks come back to the next request
// that fits, small ones bypass it, the byte limit holds, the previous allocator is restored (also
// under and over a CpuMemoryCounter), an inner cache shares the outer one, a steady-state refill
// touches no new pages, concurrent use keeps its counts, and a training step gives bit-identical
// gradients on reused (dirty) blocks.
#include <ATen/ATen.h>
#include <c10/core/CPUAllocator.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <thread>
#include <vector>

#include "models/cpu_block_cache.h"
#include "models/cpu_memory_counter.h"
#include "models/registry.h"

using namespace wildreid::models;

namespace {

constexpr int64_t kMiB = 1 << 20;

at::Tensor bytes(int64_t n) { return at::empty({n}, at::kByte); }

int64_t minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

std::vector<at::Tensor> step_gradients(const at::Tensor& x, const at::Tensor& y) {
  at::manual_seed(0);
  ModelOptions o;
  o.num_classes = 6;
  o.channels_last = true;
  auto model = create_model("convnext_atto", o);
  model->train();
  std::vector<at::Tensor> grads;
  for (int step = 0; step < 2; ++step) {  // the second step runs on the blocks the first one freed
    for (auto& p : model->parameters()) p.mutable_grad() = at::Tensor();
    at::cross_entropy_loss(model->forward(x), y).backward();
  }
  for (auto& p : model->parameters()) grads.push_back(p.grad().clone());
  return grads;
}

}  // namespace

TEST(CpuBlockCache, FreedBlockServesTheNextRequestThatFits) {
  CpuBlockCache cache;
  void* first = nullptr;
  {
    at::Tensor a = bytes(4 * kMiB);
    first = a.data_ptr();
  }
  EXPECT_EQ(cache.stats().cached_bytes, 4 * kMiB);
  at::Tensor b = bytes(4 * kMiB - 100000);  // within the slack: the same block
  EXPECT_EQ(b.data_ptr(), first);
  at::Tensor c = bytes(4 * kMiB);  // the cached block is taken: a fresh one
  EXPECT_NE(c.data_ptr(), first);
  const auto s = cache.stats();
  EXPECT_EQ(s.reused, 1);
  EXPECT_EQ(s.fresh, 2);
  EXPECT_EQ(s.cached_bytes, 0);
  EXPECT_EQ(s.block_bytes, 8 * kMiB);
}

TEST(CpuBlockCache, BlockFarLargerThanTheRequestIsNotUsed) {
  CpuBlockCache cache;
  bytes(8 * kMiB);  // freed at once: cached
  at::Tensor small = bytes(2 * kMiB);
  EXPECT_EQ(cache.stats().reused, 0);
  EXPECT_EQ(cache.stats().fresh, 2);
  EXPECT_EQ(cache.stats().cached_bytes, 8 * kMiB);
}

TEST(CpuBlockCache, SmallRequestsBypassTheCache) {
  CpuBlockCache cache;
  for (int i = 0; i < 10; ++i) bytes(64 * 1024);
  EXPECT_EQ(cache.stats().fresh, 0);
  EXPECT_EQ(cache.stats().reused, 0);
  EXPECT_EQ(cache.stats().cached_bytes, 0);
}

TEST(CpuBlockCache, KeepsNoMoreThanTheByteLimit) {
  CpuBlockCacheOptions o;
  o.max_cached_bytes = 5 * kMiB;
  CpuBlockCache cache(o);
  {
    at::Tensor a = bytes(4 * kMiB), b = bytes(4 * kMiB);
  }
  EXPECT_EQ(cache.stats().cached_bytes, 4 * kMiB);
  EXPECT_EQ(cache.stats().block_bytes, 4 * kMiB);
  cache.trim();
  EXPECT_EQ(cache.stats().cached_bytes, 0);
  EXPECT_EQ(cache.stats().block_bytes, 0);
}

TEST(CpuBlockCache, RestoresThePreviousAllocatorAndOutlivedBlocksFreeNormally) {
  c10::Allocator* before = c10::GetCPUAllocator();
  at::Tensor survivor;
  {
    CpuBlockCache cache;
    EXPECT_NE(c10::GetCPUAllocator(), before);
    survivor = bytes(3 * kMiB);
    survivor.fill_(7);
  }
  EXPECT_EQ(c10::GetCPUAllocator(), before);
  EXPECT_EQ(survivor[12345].item<uint8_t>(), 7);
  survivor = at::Tensor();  // freed through the cache's deleter after the cache is gone
  CpuBlockCache again;      // a later cache starts with nothing cached
  EXPECT_EQ(again.stats().cached_bytes, 0);
  EXPECT_EQ(again.stats().block_bytes, 0);
}

TEST(CpuBlockCache, InnerCacheSharesTheOuterOne) {
  c10::Allocator* before = c10::GetCPUAllocator();
  CpuBlockCache outer;
  c10::Allocator* installed = c10::GetCPUAllocator();
  bytes(2 * kMiB);
  {
    CpuBlockCache inner;
    EXPECT_EQ(c10::GetCPUAllocator(), installed);
    bytes(2 * kMiB);  // the outer cache's block
    EXPECT_EQ(inner.stats().reused, 1);
  }
  EXPECT_EQ(c10::GetCPUAllocator(), installed);
  EXPECT_EQ(outer.stats().cached_bytes, 2 * kMiB);  // the inner one's end freed nothing
  EXPECT_NE(installed, before);
}

TEST(CpuBlockCache, CounterOnTopCountsAndRestoresTheCache) {
  CpuBlockCache cache;
  c10::Allocator* cached = c10::GetCPUAllocator();
  {
    CpuMemoryCounter counter;
    at::Tensor a = bytes(2 * kMiB);
    EXPECT_EQ(counter.current(), 2 * kMiB);
  }
  EXPECT_EQ(c10::GetCPUAllocator(), cached);
  bytes(2 * kMiB);
  EXPECT_EQ(cache.stats().fresh, 1);
}

TEST(CpuBlockCache, SteadyStateRefillTouchesNoNewPages) {
  constexpr int64_t kBlock = 48 * kMiB;  // above glibc's largest mmap threshold: unmapped on free
  auto refill_faults = [&] {
    bytes(kBlock).fill_(1);
    const int64_t before = minor_faults();
    bytes(kBlock).fill_(2);
    return minor_faults() - before;
  };
  const int64_t uncached = refill_faults();
  int64_t cached = 0;
  {
    CpuBlockCache cache;
    cached = refill_faults();
    EXPECT_EQ(cache.stats().reused, 1);
  }
  EXPECT_LT(cached, 16) << "uncached refill: " << uncached << " faults";
  EXPECT_GT(uncached, cached);
}

TEST(CpuBlockCache, ConcurrentUseKeepsCounts) {
  CpuBlockCache cache;
  constexpr int kThreads = 4, kRounds = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([t] {
      for (int i = 0; i < kRounds; ++i) {
        at::Tensor a = bytes((1 + (t + i) % 3) * kMiB);
        a.data_ptr<uint8_t>()[0] = 1;
      }
    });
  for (auto& th : threads) th.join();
  const auto s = cache.stats();
  EXPECT_EQ(s.reused + s.fresh, kThreads * kRounds);
  EXPECT_EQ(s.cached_bytes, s.block_bytes);  // everything freed is cached
  EXPECT_LE(s.fresh, kThreads * 3);          // at most one block per size per thread in flight
}

TEST(CpuBlockCache, TrainingStepOnReusedBlocksGivesIdenticalGradients) {
  at::manual_seed(1);
  const at::Tensor x = at::randn({4, 3, 64, 64}).contiguous(at::MemoryFormat::ChannelsLast);
  const at::Tensor y = at::randint(0, 6, {4}, at::kLong);
  const auto plain = step_gradients(x, y);
  CpuBlockCacheOptions every_block;
  every_block.min_block_bytes = 0;  // every tensor goes through the cache
  CpuBlockCache cache(every_block);
  const auto cached = step_gradients(x, y);
  EXPECT_GT(cache.stats().reused, 100);
  ASSERT_EQ(plain.size(), cached.size());
  for (size_t i = 0; i < plain.size(); ++i) EXPECT_TRUE(at::equal(plain[i], cached[i])) << "parameter " << i;
}
