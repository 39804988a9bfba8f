// The per-rank input pipeline: a reader thread walks this rank's sampler order, reads each
// record's JPEG bytes through the rank's own ShardSet (HDF5 stays on that one thread), and hands
// one decode+augment task per sample to the DecodePool, which writes straight into the batch
// tensor (pinned when CUDA is available). At most `prefetch_batches` batches are in flight or
// ready; next() returns them in order. Each sample's RNG depends only on (seed, epoch, record),
// so batches are identical whatever the thread count, and a resume from SamplerState replays
// the rest of the epoch exactly.
#pragma once
#include <ATen/core/Tensor.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "data/decode_pool.h"
#include "data/distributed_sampler.h"
#include "data/shard_reader.h"
#include "data/transform_options.h"

namespace wildreid::data {

struct Batch {
  at::Tensor images;   // [N, 3, S, S] float32 normalised, or uint8 (TransformOptions::output)
  at::Tensor labels;   // [N] int64
  at::Tensor indices;  // [N] int64 global record indices
  SamplerState next;   // where to resume after this batch
};

struct LoaderOptions {
  int64_t batch_size = 32;
  int decode_threads = 4;
  int prefetch_batches = 2;     // batches decoded ahead of the consumer (>= 1)
  bool drop_last_batch = false; // drop this rank's final partial batch
  bool skip_corrupt = false;    // false: a corrupt record is an error; true: skip and count it
  bool pin_memory = true;       // pinned host memory, when CUDA is available
  uint64_t seed = 0;            // augmentation seed (the sampler has its own)
};

class BatchLoader {
 public:
  BatchLoader(std::shared_ptr<const ShardSet> shards, DistributedSampler sampler,
              TransformOptions transforms, LoaderOptions options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // Begins (or resumes) at `from`; abandons any epoch in progress.
  void start(SamplerState from);
  // The next batch of the epoch, or nullopt at its end. Throws std::runtime_error naming shard
  // and record for a corrupt record unless skip_corrupt is set.
  std::optional<Batch> next();

  SamplerState state() const { return state_; }  // resume point after the last batch returned
  uint64_t skipped_records() const { return skipped_.load(); }
  // Batches queued (decoding or ready) when the last batch was taken, itself included: near
  // prefetch_batches the reader keeps up; near 1 the consumer waits on decoding.
  size_t prefetch_depth() const { return depth_at_take_.load(); }
  size_t batches_per_epoch() const;
  bool pinned() const { return pin_; }

 private:
  struct Pending;
  void produce(SamplerState from);
  void stop();
  Batch finish(Pending& pending);
  at::Tensor batch_buffer(at::ScalarType dtype);  // reader thread only

  std::shared_ptr<const ShardSet> shards_;
  DistributedSampler sampler_;
  TransformOptions transforms_;
  LoaderOptions options_;
  bool pin_ = false;
  DecodePool pool_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::shared_ptr<Pending>> queue_;
  bool producer_done_ = true;
  bool stopping_ = false;
  std::exception_ptr producer_error_;
  std::thread producer_;
  std::vector<at::Tensor> buffers_;  // recent batch buffers, reused when released
  SamplerState state_;
  std::atomic<uint64_t> skipped_{0};
  std::atomic<size_t> depth_at_take_{0};
};

}  // namespace wildreid::data
