// The seed's train/val split of labelled rows, and the dense label map over train identities.
// Rule (per identity, labelled rows only): n == 1 -> train; otherwise
// n_val = clamp(round(val_fraction * n), 1, n - 1) rows go to val, chosen by a Fisher-Yates
// shuffle of the identity's rows (sorted by image_id) with a generator seeded from
// (seed, dataset, identity). So each identity keeps >= 1 row in train and >= 1 in val, the result
// does not depend on row order or on other identities, and val identities are a subset of train's.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace wildreid::data {

struct SplitOptions {
  uint64_t seed = 42;
  double val_fraction = 0.2;
};

struct SplitItem {
  std::string dataset;
  std::string identity;
  std::string image_id;
  bool labelled = true;      // false: keeps `fixed_split`
  std::string fixed_split;   // e.g. "query" (AnimalCLEF query) or "test" (WildlifeReID-10k test)
};

// Rows of one identity that go to val under the rule above.
size_t val_count(size_t n, double val_fraction);

// "train"/"val" for labelled items, fixed_split for the others; same order as `items`.
std::vector<std::string> seed_split(const std::vector<SplitItem>& items, const SplitOptions& options = {});

// Dense labels 0..K-1 over the (dataset, identity) pairs of the rows whose split is "train",
// in sorted (dataset, identity) order, so labels are disjoint across datasets.
using LabelMap = std::map<std::pair<std::string, std::string>, int64_t>;
LabelMap build_label_map(const std::vector<SplitItem>& items, const std::vector<std::string>& splits);

}  // namespace wildreid::data
