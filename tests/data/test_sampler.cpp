// DistributedSampler: partitions disjoint and covering, pad-by-wrap vs drop, per-epoch shuffle
// reproducible from the seed, resume mid-epoch continues the same order, state text round trip.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

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
