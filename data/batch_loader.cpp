// See batch_loader.h. Threads: the caller (next), one reader thread (produce, the only one that
// touches HDF5) and the DecodePool. A Pending batch is shared by the reader, its decode tasks
// and the consumer; the tasks write disjoint slots of its image tensor and count down
// `remaining`. An abandoned epoch marks its pending batches cancelled so queued tasks return
// at once. Batch buffers are recycled once the consumer has dropped every view of them.
#include "data/batch_loader.h"

#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/sample_rng.h"
#include "data/sample_transform.h"

namespace wildreid::data {

struct BatchLoader::Pending {
  std::vector<size_t> records;
  at::Tensor images;
  std::vector<std::string> errors;  // per sample; empty = decoded
  SamplerState next;
  std::atomic<bool> cancelled{false};
  std::mutex mutex;
  std::condition_variable done;
  size_t remaining = 0;

  void finish_one() {
    std::lock_guard<std::mutex> lock(mutex);
    if (--remaining == 0) done.notify_all();
  }
  void wait() {
    std::unique_lock<std::mutex> lock(mutex);
    done.wait(lock, [this] { return remaining == 0; });
  }
};

BatchLoader::BatchLoader(std::shared_ptr<const ShardSet> shards, DistributedSampler sampler,
                         TransformOptions transforms, LoaderOptions options)
    : shards_(std::move(shards)),
      sampler_(std::move(sampler)),
      transforms_(transforms),
      options_(options),
      pin_(options.pin_memory && at::hasCUDA()),
      pool_(options.decode_threads) {
  if (!shards_) throw std::invalid_argument("loader: no shard set");
  if (options_.batch_size < 1) throw std::invalid_argument("loader: batch size must be >= 1");
  if (options_.prefetch_batches < 1)
    throw std::invalid_argument("loader: prefetch depth must be >= 1");
  if (transforms_.size < 1) throw std::invalid_argument("loader: image size must be >= 1");
}

BatchLoader::~BatchLoader() { stop(); }

size_t BatchLoader::batches_per_epoch() const {
  const size_t n = sampler_.samples_per_rank(), b = static_cast<size_t>(options_.batch_size);
  return options_.drop_last_batch ? n / b : (n + b - 1) / b;
}

void BatchLoader::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (producer_.joinable()) producer_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& p : queue_) p->cancelled = true;
  queue_.clear();
}

void BatchLoader::start(SamplerState from) {
  stop();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
    producer_done_ = false;
    producer_error_ = nullptr;
    state_ = from;
  }
  producer_ = std::thread([this, from] { produce(from); });
}

void BatchLoader::produce(SamplerState from) {
  try {
    const std::vector<size_t> order = sampler_.rank_indices(from.epoch, from.position);
    const size_t batch = static_cast<size_t>(options_.batch_size);
    const auto dtype = transforms_.output == OutputFormat::kUint8 ? at::kByte : at::kFloat;
    const size_t slot_bytes = output_image_bytes(transforms_);
    uint64_t position = from.position;
    for (size_t i = 0; i < order.size();) {
      const size_t n = std::min(batch, order.size() - i);
      if (n < batch && options_.drop_last_batch) break;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] {
          return stopping_ || queue_.size() < static_cast<size_t>(options_.prefetch_batches);
        });
        if (stopping_) break;
      }
      auto p = std::make_shared<Pending>();
      p->records.assign(order.begin() + static_cast<std::ptrdiff_t>(i),
                        order.begin() + static_cast<std::ptrdiff_t>(i + n));
      p->images = batch_buffer(dtype).narrow(0, 0, static_cast<int64_t>(n));
      p->errors.resize(n);
      p->remaining = n;
      p->next = {from.epoch, position + n};
      {
        std::lock_guard<std::mutex> lock(mutex_);
        queue_.push_back(p);
      }
      changed_.notify_all();
      auto* base = static_cast<uint8_t*>(p->images.data_ptr());
      for (size_t k = 0; k < n; ++k) {
        const size_t record = p->records[k];
        std::vector<uint8_t> bytes;
        try {
          bytes = shards_->read_bytes(record);
        } catch (const std::exception& e) {
          p->errors[k] = e.what();
          p->finish_one();
          continue;
        }
        void* slot = base + k * slot_bytes;
        pool_.submit([this, p, k, record, slot, epoch = from.epoch, bytes = std::move(bytes)] {
          if (!p->cancelled) {
            try {
              SampleRng rng = SampleRng::for_record(options_.seed, epoch, record);
              transform_sample(std::span<const uint8_t>(bytes), transforms_, rng, slot);
            } catch (const std::exception& e) {
              p->errors[k] = e.what();
            }
          }
          p->finish_one();
        });
      }
      i += n;
      position += n;
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    producer_error_ = std::current_exception();
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    producer_done_ = true;
  }
  changed_.notify_all();
}

at::Tensor BatchLoader::batch_buffer(at::ScalarType dtype) {
  // A buffer only this loader still references can be written again: the consumer dropped
  // the batch. This avoids mapping and zero-filling fresh pages for every batch (tens of MB).
  // Pinned buffers are never recycled here: a non_blocking copy to the GPU may still be reading
  // one after its last reference is gone; CUDA's caching host allocator tracks that itself.
  if (pin_)
    return at::empty({options_.batch_size, 3, transforms_.size, transforms_.size},
                     at::TensorOptions().dtype(dtype).pinned_memory(true));
  for (const at::Tensor& buffer : buffers_)
    if (buffer.storage().use_count() == 1 && buffer.scalar_type() == dtype) return buffer;
  at::Tensor fresh = at::empty({options_.batch_size, 3, transforms_.size, transforms_.size},
                               at::TensorOptions().dtype(dtype).pinned_memory(pin_));
  const size_t keep = static_cast<size_t>(options_.prefetch_batches) + 2;
  if (buffers_.size() >= keep) buffers_.erase(buffers_.begin());
  buffers_.push_back(fresh);
  return fresh;
}

Batch BatchLoader::finish(Pending& p) {
  const int64_t n = static_cast<int64_t>(p.records.size());
  std::vector<int64_t> keep;
  keep.reserve(p.records.size());
  for (int64_t k = 0; k < n; ++k) {
    const std::string& error = p.errors[static_cast<size_t>(k)];
    if (error.empty()) {
      keep.push_back(k);
      continue;
    }
    const size_t record = p.records[static_cast<size_t>(k)];
    if (!options_.skip_corrupt) {
      throw std::runtime_error("corrupt record " + std::to_string(record) + " (image_id '" +
                               shards_->info(record).image_id + "') in shard " +
                               shards_->shard_path(record).string() + ": " + error);
    }
  }
  Batch batch;
  batch.next = p.next;
  // Pinned like the images, so the trainer's non_blocking copy of the labels does not synchronise.
  batch.labels = at::empty({static_cast<int64_t>(keep.size())}, at::TensorOptions().dtype(at::kLong).pinned_memory(pin_));
  batch.indices = at::empty({static_cast<int64_t>(keep.size())}, at::kLong);
  auto* labels = batch.labels.data_ptr<int64_t>();
  auto* indices = batch.indices.data_ptr<int64_t>();
  for (size_t j = 0; j < keep.size(); ++j) {
    const size_t record = p.records[static_cast<size_t>(keep[j])];
    labels[j] = shards_->info(record).label;
    indices[j] = static_cast<int64_t>(record);
  }
  if (static_cast<int64_t>(keep.size()) == n) {
    batch.images = p.images;
  } else {
    skipped_ += static_cast<uint64_t>(n - static_cast<int64_t>(keep.size()));
    batch.images = p.images.index_select(0, at::tensor(keep, at::kLong));
    if (pin_) batch.images = batch.images.pin_memory();
  }
  return batch;
}

std::optional<Batch> BatchLoader::next() {
  for (;;) {
    std::shared_ptr<Pending> p;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [this] { return !queue_.empty() || producer_done_; });
      if (queue_.empty()) {
        if (producer_error_) std::rethrow_exception(producer_error_);
        return std::nullopt;
      }
      depth_at_take_.store(queue_.size());
      p = queue_.front();
      queue_.pop_front();
    }
    changed_.notify_all();
    p->wait();
    Batch batch = finish(*p);
    state_ = batch.next;
    if (batch.images.size(0) > 0) return batch;
  }
}

}  // namespace wildreid::data
