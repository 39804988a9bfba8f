// See distributed_sampler.h. The shuffle is our own Fisher-Yates over SampleRng so the order is
// identical on every platform and standard library, which every rank relies on.
#include "data/distributed_sampler.h"

#include <stdexcept>

#include "data/identity_batches.h"
#include "data/sample_rng.h"

namespace wildreid::data {

namespace {
IdentityBatchOptions identity_options(const SamplerOptions& o, int64_t epoch) {
  IdentityBatchOptions out;
  out.seed = o.seed;
  out.epoch = epoch;
  out.world_size = o.world_size;
  out.batch_size = o.batch_size;
  out.instances_per_identity = o.instances_per_identity;
  return out;
}
}  // namespace

DistributedSampler::DistributedSampler(std::vector<size_t> split_indices, SamplerOptions options,
                                       std::vector<int64_t> labels)
    : split_(std::move(split_indices)), labels_(std::move(labels)), options_(options) {
  if (options_.world_size < 1)
    throw std::invalid_argument("sampler: world size must be >= 1, got " +
                                std::to_string(options_.world_size));
  if (options_.rank < 0 || options_.rank >= options_.world_size)
    throw std::invalid_argument("sampler: rank " + std::to_string(options_.rank) +
                                " outside world size " + std::to_string(options_.world_size));
  const size_t n = split_.size(), w = static_cast<size_t>(options_.world_size);
  if (options_.instances_per_identity > 0) {
    if (options_.drop_last)
      throw std::invalid_argument("sampler: identity-balanced batches are always padded, not dropped");
    if (labels_.size() != n)
      throw std::invalid_argument("sampler: identity-balanced batches need one label per record, got " +
                                  std::to_string(labels_.size()) + " for " + std::to_string(n));
    per_rank_ = static_cast<size_t>(identity_batch_steps(labels_, identity_options(options_, 0)) *
                                    options_.batch_size);
    return;
  }
  per_rank_ = options_.drop_last ? n / w : (n + w - 1) / w;
  if (per_rank_ == 0)
    throw std::invalid_argument("sampler: split of " + std::to_string(n) +
                                " records gives no samples to each of " + std::to_string(w) +
                                " ranks");
}

std::vector<size_t> DistributedSampler::epoch_order(int64_t epoch) const {
  if (options_.instances_per_identity > 0) {
    // Rank r's k-th sample at k x world + r, as below.
    const auto streams = identity_batch_streams(split_, labels_, identity_options(options_, epoch));
    std::vector<size_t> order(per_rank_ * streams.size());
    for (size_t r = 0; r < streams.size(); ++r)
      for (size_t k = 0; k < per_rank_; ++k) order[k * streams.size() + r] = streams[r][k];
    return order;
  }
  std::vector<size_t> order = split_;
  if (options_.shuffle) {
    SampleRng rng = SampleRng::for_record(options_.seed, epoch, ~0ULL);  // a stream no record uses
    for (size_t i = order.size(); i > 1; --i)
      std::swap(order[i - 1], order[static_cast<size_t>(rng.randint(0, static_cast<int64_t>(i)))]);
  }
  const size_t total = per_rank_ * static_cast<size_t>(options_.world_size);
  if (total <= order.size()) {
    order.resize(total);
  } else {
    const size_t n = order.size();
    for (size_t i = n; i < total; ++i) order.push_back(order[(i - n) % n]);
  }
  return order;
}

std::vector<size_t> DistributedSampler::rank_indices(int64_t epoch, uint64_t position) const {
  if (position > per_rank_)
    throw std::out_of_range("sampler: resume position " + std::to_string(position) +
                            " beyond the " + std::to_string(per_rank_) + " samples of rank " +
                            std::to_string(options_.rank));
  const std::vector<size_t> order = epoch_order(epoch);
  std::vector<size_t> mine;
  mine.reserve(per_rank_ - position);
  const size_t w = static_cast<size_t>(options_.world_size);
  for (size_t k = position; k < per_rank_; ++k)
    mine.push_back(order[k * w + static_cast<size_t>(options_.rank)]);
  return mine;
}

std::string to_string(const SamplerState& state) {
  return std::to_string(state.epoch) + ":" + std::to_string(state.position);
}

SamplerState parse_sampler_state(const std::string& text) {
  const auto colon = text.find(':');
  try {
    if (colon == std::string::npos) throw std::invalid_argument("no colon");
    size_t used = 0;
    SamplerState s;
    s.epoch = std::stoll(text.substr(0, colon), &used);
    if (used != colon || s.epoch < 0) throw std::invalid_argument("epoch");
    const std::string pos = text.substr(colon + 1);
    if (pos.empty() || pos[0] == '-') throw std::invalid_argument("position");
    s.position = std::stoull(pos, &used);
    if (used != pos.size()) throw std::invalid_argument("position");
    return s;
  } catch (const std::exception&) {
    throw std::invalid_argument("sampler state '" + text + "' is not EPOCH:POSITION");
  }
}

}  // namespace wildreid::data
