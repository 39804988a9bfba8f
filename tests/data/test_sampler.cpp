// DistributedSampler: partitions disjoint and covering, pad-by-wrap vs drop, per-epoch shuffle
// reproducible from the seed, resume mid-epoch continues the same order, state text round trip;
// identity-balanced batches (K images per identity, distinct identities per step, same length per rank).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>
#include <tuple>

#include "data/distributed_sampler.h"

using namespace wildreid::data;

namespace {
std::vector<size_t> split_of(size_t n, size_t offset = 1000) {
  std::vector<size_t> v(n);
  std::iota(v.begin(), v.end(), offset);  // global indices need not start at 0
  return v;
}
std::vector<std::vector<size_t>> all_ranks(size_t n, int world, bool drop, int64_t epoch,
                                           uint64_t seed = 7) {
  std::vector<std::vector<size_t>> out;
  for (int r = 0; r < world; ++r) {
    DistributedSampler s(split_of(n), {seed, r, world, true, drop});
    out.push_back(s.rank_indices(epoch));
  }
  return out;
}
}  // namespace

TEST(Sampler, ExactDivisionIsDisjointAndCovering) {
  const auto ranks = all_ranks(100, 4, false, 0);
  std::multiset<size_t> seen;
  for (const auto& r : ranks) {
    EXPECT_EQ(r.size(), 25u);
    seen.insert(r.begin(), r.end());
  }
  const auto split = split_of(100);
  EXPECT_EQ(seen, std::multiset<size_t>(split.begin(), split.end()));
}

TEST(Sampler, PadWrapsSoEveryRankHasTheSameCount) {
  const auto ranks = all_ranks(103, 4, false, 3);
  std::set<size_t> distinct;
  size_t total = 0;
  for (const auto& r : ranks) {
    EXPECT_EQ(r.size(), 26u);
    total += r.size();
    distinct.insert(r.begin(), r.end());
  }
  EXPECT_EQ(total, 104u);
  EXPECT_EQ(distinct.size(), 103u);  // every record once, one repeated by the wrap
  for (size_t i : distinct) EXPECT_TRUE(i >= 1000 && i < 1103);
}

TEST(Sampler, DropGivesDisjointEqualPartitions) {
  const auto ranks = all_ranks(103, 4, true, 3);
  std::set<size_t> distinct;
  for (const auto& r : ranks) {
    EXPECT_EQ(r.size(), 25u);
    distinct.insert(r.begin(), r.end());
  }
  EXPECT_EQ(distinct.size(), 100u);  // disjoint: 4 x 25 distinct records
}

TEST(Sampler, ShuffleDependsOnSeedAndEpochOnly) {
  DistributedSampler a(split_of(50), {11, 0, 1, true, false});
  DistributedSampler b(split_of(50), {11, 0, 1, true, false});
  DistributedSampler c(split_of(50), {12, 0, 1, true, false});
  EXPECT_EQ(a.rank_indices(2), b.rank_indices(2));
  EXPECT_NE(a.rank_indices(2), a.rank_indices(3));
  EXPECT_NE(a.rank_indices(2), c.rank_indices(2));
  EXPECT_NE(a.rank_indices(2), split_of(50));  // actually shuffled
  DistributedSampler ordered(split_of(50), {11, 0, 1, false, false});
  EXPECT_EQ(ordered.rank_indices(5), split_of(50));
}

TEST(Sampler, ResumeMidEpochGivesTheRemainingOrder) {
  DistributedSampler s(split_of(77), {5, 1, 3, true, false});
  const auto whole = s.rank_indices(4);
  const auto rest = s.rank_indices(4, 10);
  ASSERT_EQ(rest.size(), whole.size() - 10);
  EXPECT_TRUE(std::equal(rest.begin(), rest.end(), whole.begin() + 10));
  EXPECT_TRUE(s.rank_indices(4, s.samples_per_rank()).empty());
  EXPECT_THROW(s.rank_indices(4, s.samples_per_rank() + 1), std::out_of_range);
}

TEST(Sampler, StateRoundTripsAsText) {
  const SamplerState st{12, 345};
  EXPECT_EQ(to_string(st), "12:345");
  EXPECT_EQ(parse_sampler_state("12:345"), st);
  EXPECT_THROW(parse_sampler_state("12"), std::invalid_argument);
  EXPECT_THROW(parse_sampler_state("a:1"), std::invalid_argument);
  EXPECT_THROW(parse_sampler_state("1:-2"), std::invalid_argument);
  EXPECT_THROW(parse_sampler_state("1:2x"), std::invalid_argument);
}

TEST(Sampler, RejectsBadRankAndTooSmallSplits) {
  EXPECT_THROW(DistributedSampler(split_of(10), {0, 2, 2, true, false}), std::invalid_argument);
  EXPECT_THROW(DistributedSampler(split_of(10), {0, 0, 0, true, false}), std::invalid_argument);
  EXPECT_THROW(DistributedSampler(split_of(3), {0, 0, 4, true, true}), std::invalid_argument);
  EXPECT_THROW(DistributedSampler({}, {0, 0, 1, true, false}), std::invalid_argument);
}

// Identity-balanced batches (instances_per_identity = K): a split of 23 identities of 1..9
// images each (some fewer than K), shared by the tests below.
namespace {
struct IdentitySplit {
  std::vector<size_t> records;
  std::vector<int64_t> labels;
  std::map<size_t, int64_t> label_of;
};
IdentitySplit identity_split() {
  IdentitySplit s;
  size_t record = 500;
  for (int64_t id = 0; id < 23; ++id)
    for (int64_t i = 0; i < 1 + (id * 7) % 9; ++i) {
      s.records.push_back(record);
      s.labels.push_back(100 + id);  // labels need not be dense
      s.label_of[record++] = 100 + id;
    }
  return s;
}
SamplerOptions identity_options(int rank, int world, int64_t k, int64_t batch, uint64_t seed = 3) {
  SamplerOptions o{seed, rank, world, true, false};
  o.instances_per_identity = k;
  o.batch_size = batch;
  return o;
}
}  // namespace

TEST(Sampler, IdentityBatchesHoldKImagesOfEachIdentityAndStepsShareNone) {
  const auto split = identity_split();
  for (const auto& [world, k, batch] : std::vector<std::tuple<int, int64_t, int64_t>>{{1, 4, 8}, {2, 2, 6}, {3, 4, 8}}) {
    std::vector<std::vector<size_t>> ranks;
    for (int r = 0; r < world; ++r)
      ranks.push_back(DistributedSampler(split.records, identity_options(r, world, k, batch), split.labels).rank_indices(1));
    const size_t per_rank = ranks[0].size();
    ASSERT_GT(per_rank, 0u);
    ASSERT_EQ(per_rank % static_cast<size_t>(batch), 0u);
    std::set<size_t> seen;
    for (size_t start = 0; start < per_rank; start += static_cast<size_t>(batch)) {
      std::set<int64_t> step_identities;  // across the ranks of one step
      for (int r = 0; r < world; ++r) {
        ASSERT_EQ(ranks[r].size(), per_rank) << "rank " << r;
        std::map<int64_t, int> counts;
        for (size_t i = start; i < start + static_cast<size_t>(batch); ++i) {
          ++counts[split.label_of.at(ranks[r][i])];
          seen.insert(ranks[r][i]);
        }
        EXPECT_EQ(counts.size(), static_cast<size_t>(batch / k)) << "world " << world << " rank " << r << " batch at " << start;
        for (const auto& [label, count] : counts) {
          EXPECT_EQ(count, k) << "identity " << label;
          EXPECT_TRUE(step_identities.insert(label).second) << "identity " << label << " twice in the step at " << start;
        }
      }
    }
    EXPECT_EQ(seen.size(), split.records.size()) << "every record at least once per epoch (world " << world << ")";
  }
}

TEST(Sampler, IdentityBatchesAreDeterministicPerSeedAndEpochAndResume) {
  const auto split = identity_split();
  DistributedSampler a(split.records, identity_options(1, 2, 2, 4), split.labels);
  DistributedSampler b(split.records, identity_options(1, 2, 2, 4), split.labels);
  DistributedSampler c(split.records, identity_options(1, 2, 2, 4, /*seed=*/4), split.labels);
  EXPECT_EQ(a.rank_indices(2), b.rank_indices(2));
  EXPECT_NE(a.rank_indices(2), a.rank_indices(3));
  EXPECT_NE(a.rank_indices(2), c.rank_indices(2));
  EXPECT_EQ(a.rank_indices(2).size(), a.samples_per_rank());
  EXPECT_EQ(a.rank_indices(5).size(), a.samples_per_rank());  // the same length every epoch
  const auto whole = a.rank_indices(2);
  const auto rest = a.rank_indices(2, 8);
  ASSERT_EQ(rest.size(), whole.size() - 8);
  EXPECT_TRUE(std::equal(rest.begin(), rest.end(), whole.begin() + 8));
}

TEST(Sampler, IdentityBatchesFitTheFewestSteps) {
  // 23 identities, sum of ceil(n_i / 4) = G chunks; a step of 2 ranks x 2 identities has 4 slots.
  const auto split = identity_split();
  std::map<int64_t, int64_t> sizes;
  for (int64_t label : split.labels) ++sizes[label];
  int64_t chunks = 0, most = 0;
  for (const auto& [label, n] : sizes) {
    chunks += (n + 3) / 4;
    most = std::max(most, (n + 3) / 4);
  }
  DistributedSampler s(split.records, identity_options(0, 2, 4, 8), split.labels);
  EXPECT_EQ(s.samples_per_rank(), static_cast<size_t>(std::max((chunks + 3) / 4, most) * 8));
}

TEST(Sampler, IdentityBatchesRejectWhatCannotBeFormed) {
  const auto split = identity_split();
  EXPECT_THROW(DistributedSampler(split.records, identity_options(0, 1, 3, 8), split.labels), std::invalid_argument);
  EXPECT_THROW(DistributedSampler(split.records, identity_options(0, 2, 1, 16), split.labels),
               std::invalid_argument);  // 32 identities per step, 23 in the split
  EXPECT_THROW(DistributedSampler(split.records, identity_options(0, 1, 2, 4), {}), std::invalid_argument);
  auto unlabelled = split.labels;
  unlabelled[3] = -1;
  EXPECT_THROW(DistributedSampler(split.records, identity_options(0, 1, 2, 4), unlabelled), std::invalid_argument);
  auto drop = identity_options(0, 1, 2, 4);
  drop.drop_last = true;
  EXPECT_THROW(DistributedSampler(split.records, drop, split.labels), std::invalid_argument);
}
