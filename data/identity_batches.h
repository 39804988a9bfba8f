// Identity-balanced batches for metric losses (triplet, ArcFace with hard mining, ...): every
// batch of B images holds P = B / K identities with exactly K images each, and the P identities
// of one step are distinct across all ranks (P x world of them). DistributedSampler uses this
// when SamplerOptions::instances_per_identity is set; the result keeps its rules: a pure function
// of (seed, epoch, split, labels, world size), the same number of samples on every rank in every
// epoch, and every record at least once per epoch.
//
// How: each identity's records are shuffled and cut into chunks of K (the last chunk of an
// identity is completed by cycling through its own records, so an identity with fewer than K
// images repeats some). An epoch has L = max(ceil(G / Q), max_i c_i) steps for G chunks in all,
// c_i chunks of identity i and Q = P x world slots per step: the fewest steps in which every chunk
// fits with no identity twice in a step. Each step takes the identities that must go now (c_i
// equal to the steps left), then draws the rest at random in proportion to their chunks left; a
// step that cannot be filled from chunks left (the tail) is padded with extra chunks of other
// identities, like the DDP sampler pads by wrapping around.
#pragma once
#include <cstdint>
#include <vector>

namespace wildreid::data {

struct IdentityBatchOptions {
  uint64_t seed = 0;
  int64_t epoch = 0;
  int world_size = 1;
  int64_t batch_size = 0;              // B, images per rank per batch
  int64_t instances_per_identity = 0;  // K, divides B
};

// Steps per epoch (L above) for these labels; throws std::invalid_argument when B is not a
// multiple of K or there are fewer identities than one step needs (P x world).
int64_t identity_batch_steps(const std::vector<int64_t>& labels, const IdentityBatchOptions& options);

// One stream per rank: L x B record indices (values of `records`), batch after batch. `labels[i]`
// is the identity of `records[i]` (>= 0).
std::vector<std::vector<size_t>> identity_batch_streams(const std::vector<size_t>& records,
                                                        const std::vector<int64_t>& labels,
                                                        const IdentityBatchOptions& options);

}  // namespace wildreid::data
