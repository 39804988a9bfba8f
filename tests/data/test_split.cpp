// The seed split: singletons to train, per-identity stratification with the documented count
// rule, >= 1 train and >= 1 val per identity with >= 2 images, fixed splits kept, reproducible for
// a seed and independent of row order; labels dense over train identities, disjoint per dataset.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "data/split.h"

namespace wildreid::data {
namespace {

std::vector<SplitItem> make_items(size_t identities, uint64_t salt = 0) {
  std::vector<SplitItem> items;
  for (size_t id = 0; id < identities; ++id) {
    const size_t n = 1 + (id * 7 + salt) % 13;  // 1..13 images
    for (size_t k = 0; k < n; ++k)
      items.push_back({id % 2 ? "DataA" : "DataB", "ind" + std::to_string(id), "img" + std::to_string(id) + "_" + std::to_string(k), true, ""});
  }
  items.push_back({"DataA", "", "q1", false, "query"});
  items.push_back({"DataB", "ind3", "t1", false, "test"});
  return items;
}

TEST(Split, ValCountRule) {
  EXPECT_EQ(val_count(1, 0.2), 0u);
  EXPECT_EQ(val_count(2, 0.2), 1u);   // clamped up to 1
  EXPECT_EQ(val_count(5, 0.2), 1u);
  EXPECT_EQ(val_count(8, 0.2), 2u);   // round(1.6)
  EXPECT_EQ(val_count(10, 0.2), 2u);
  EXPECT_EQ(val_count(2, 0.9), 1u);   // clamped down to n - 1
}

TEST(Split, StratifiedPerIdentitySingletonsToTrainFixedSplitsKept) {
  const auto items = make_items(40);
  const auto splits = seed_split(items);
  std::map<std::string, std::pair<size_t, size_t>> per_identity;  // train, val
  size_t train = 0, val = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].labelled) {
      EXPECT_EQ(splits[i], items[i].fixed_split);
      continue;
    }
    ASSERT_TRUE(splits[i] == "train" || splits[i] == "val") << splits[i];
    auto& c = per_identity[items[i].dataset + "/" + items[i].identity];
    (splits[i] == "train" ? c.first : c.second)++;
    (splits[i] == "train" ? train : val)++;
  }
  size_t singletons = 0;
  for (const auto& [id, c] : per_identity) {
    const size_t n = c.first + c.second;
    if (n == 1) {
      ++singletons;
      EXPECT_EQ(c.first, 1u) << id;
    } else {
      EXPECT_GE(c.first, 1u) << id;
      EXPECT_GE(c.second, 1u) << id;
      EXPECT_EQ(c.second, val_count(n, 0.2)) << id;
    }
  }
  EXPECT_GT(singletons, 0u);
  const double fraction = static_cast<double>(val) / static_cast<double>(train + val);
  EXPECT_GT(fraction, 0.15);
  EXPECT_LT(fraction, 0.30);
}

TEST(Split, ReproducibleForASeedIndependentOfOrderDifferentForAnotherSeed) {
  const auto items = make_items(30, 5);
  const auto a = seed_split(items, {42, 0.2});
  EXPECT_EQ(a, seed_split(items, {42, 0.2}));

  auto reversed = items;
  std::reverse(reversed.begin(), reversed.end());
  auto b = seed_split(reversed, {42, 0.2});
  std::reverse(b.begin(), b.end());
  EXPECT_EQ(a, b);

  EXPECT_NE(a, seed_split(items, {43, 0.2}));
}

TEST(Split, LabelMapDenseOverTrainIdentitiesDisjointAcrossDatasets) {
  std::vector<SplitItem> items = make_items(20);
  // The same identity name in two datasets is two classes.
  items.push_back({"DataA", "shared", "s1", true, ""});
  items.push_back({"DataB", "shared", "s2", true, ""});
  const auto splits = seed_split(items);
  const auto labels = build_label_map(items, splits);
  std::set<int64_t> values;
  for (const auto& [key, label] : labels) values.insert(label);
  EXPECT_EQ(values.size(), labels.size());
  EXPECT_EQ(*values.begin(), 0);
  EXPECT_EQ(*values.rbegin(), static_cast<int64_t>(labels.size()) - 1);
  EXPECT_TRUE(labels.count({"DataA", "shared"}));
  EXPECT_TRUE(labels.count({"DataB", "shared"}));
  EXPECT_NE(labels.at({"DataA", "shared"}), labels.at({"DataB", "shared"}));
  for (size_t i = 0; i < items.size(); ++i)
    if (splits[i] == "val") EXPECT_TRUE(labels.count({items[i].dataset, items[i].identity})) << items[i].identity;
  EXPECT_FALSE(labels.count({"DataA", ""}));  // query rows have no label
}

}  // namespace
}  // namespace wildreid::data
