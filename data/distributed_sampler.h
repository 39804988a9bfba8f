// Which records each rank reads, in which order, for one split: torch's DistributedSampler
// semantics (per-epoch seeded shuffle of the whole split, then rank r takes positions r, r+W,
// r+2W, ...), with the tail either padded by wrapping around the shuffled order or dropped so
// every rank gets the same number of samples. The order is a pure function of
// (seed, epoch, split, world size), so a resume needs only SamplerState = (epoch, position).
// With instances_per_identity = K, batches are identity-balanced instead (identity_batches.h):
// each rank's batch of batch_size images holds batch_size / K identities with K images each,
// padded by extra chunks so every rank still gets the same number of samples.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace wildreid::data {

struct SamplerOptions {
  uint64_t seed = 0;
  int rank = 0;
  int world_size = 1;
  bool shuffle = true;     // false: split order (evaluation)
  bool drop_last = false;  // false: pad by wrapping; true: drop the tail that does not divide
  // > 0: identity-balanced batches of `batch_size` with K = this many images per identity
  // (needs the records' labels; drop_last must be false).
  int64_t instances_per_identity = 0;
  int64_t batch_size = 0;  // images per rank per batch, a multiple of instances_per_identity
};

// Where a rank stands: `position` samples of epoch `epoch` already consumed by this rank.
struct SamplerState {
  int64_t epoch = 0;
  uint64_t position = 0;
  bool operator==(const SamplerState&) const = default;
};

class DistributedSampler {
 public:
  // `split_indices`: the split's global record indices (ShardSet::split_indices); `labels`: their
  // identities, needed only with instances_per_identity. Throws std::invalid_argument on a bad
  // rank/world size, when a rank would get no samples, or when identity batches cannot be formed.
  DistributedSampler(std::vector<size_t> split_indices, SamplerOptions options, std::vector<int64_t> labels = {});

  size_t samples_per_rank() const { return per_rank_; }
  size_t split_size() const { return split_.size(); }
  const SamplerOptions& options() const { return options_; }

  // This rank's global record indices for `epoch`, from `position` on (a resume point).
  std::vector<size_t> rank_indices(int64_t epoch, uint64_t position = 0) const;
  // The whole split's order for `epoch` after shuffling and padding/dropping (all ranks).
  std::vector<size_t> epoch_order(int64_t epoch) const;

 private:
  std::vector<size_t> split_;
  std::vector<int64_t> labels_;
  SamplerOptions options_;
  size_t per_rank_ = 0;
};

// "epoch:position", the form checkpoints and logs store; parse throws naming the bad text.
std::string to_string(const SamplerState& state);
SamplerState parse_sampler_state(const std::string& text);

}  // namespace wildreid::data
