// Self-contained generator (splitmix64) and Fisher-Yates shuffle rather than std::shuffle, whose
// output differs between standard libraries; the split must be the same on every machine.
#include "data/split.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace wildreid::data {
namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t fnv1a(const std::string& s, uint64_t h = 0xcbf29ce484222325ull) {
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

}  // namespace

size_t val_count(size_t n, double val_fraction) {
  if (n < 2) return 0;
  const auto v = static_cast<long long>(std::llround(val_fraction * static_cast<double>(n)));
  return static_cast<size_t>(std::clamp<long long>(v, 1, static_cast<long long>(n) - 1));
}

std::vector<std::string> seed_split(const std::vector<SplitItem>& items, const SplitOptions& options) {
  if (!(options.val_fraction >= 0.0 && options.val_fraction < 1.0))
    throw std::invalid_argument("val_fraction must be in [0, 1)");
  std::vector<std::string> splits(items.size());
  std::map<std::pair<std::string, std::string>, std::vector<size_t>> by_identity;
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].labelled)
      by_identity[{items[i].dataset, items[i].identity}].push_back(i);
    else
      splits[i] = items[i].fixed_split;
  }
  for (auto& [key, rows] : by_identity) {
    std::sort(rows.begin(), rows.end(), [&](size_t a, size_t b) { return items[a].image_id < items[b].image_id; });
    uint64_t state = options.seed ^ fnv1a(key.second, fnv1a(key.first + '\x1f'));
    for (size_t i = rows.size(); i > 1; --i) {
      const size_t j = static_cast<size_t>(splitmix64(state) % i);
      std::swap(rows[i - 1], rows[j]);
    }
    const size_t n_val = options.val_fraction > 0.0 ? val_count(rows.size(), options.val_fraction) : 0;
    for (size_t k = 0; k < rows.size(); ++k) splits[rows[k]] = k < n_val ? "val" : "train";
  }
  return splits;
}

LabelMap build_label_map(const std::vector<SplitItem>& items, const std::vector<std::string>& splits) {
  LabelMap map;
  for (size_t i = 0; i < items.size(); ++i)
    if (splits[i] == "train") map.emplace(std::make_pair(items[i].dataset, items[i].identity), 0);
  int64_t next = 0;
  for (auto& [key, label] : map) label = next++;
  return map;
}

}  // namespace wildreid::data
