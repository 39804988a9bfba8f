// See identity_batches.h. Weighted draws use a Fenwick tree over the identities' chunks left, so
// an epoch of G chunks over N identities costs O(G log N) (WildlifeReID-10k: ~10k identities).
#include "data/identity_batches.h"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <string>

#include "data/sample_rng.h"

namespace wildreid::data {
namespace {

// Prefix sums of non-negative weights with point updates and "which index holds the u-th unit".
class Fenwick {
 public:
  explicit Fenwick(size_t n) : tree_(n + 1, 0) {}
  void add(size_t i, int64_t delta) {
    total_ += delta;
    for (++i; i < tree_.size(); i += i & (~i + 1)) tree_[i] += delta;
  }
  int64_t total() const { return total_; }
  // Smallest index whose prefix sum exceeds u (0 <= u < total()).
  size_t find(int64_t u) const {
    size_t pos = 0, step = 1;
    while (step * 2 < tree_.size()) step *= 2;
    for (; step > 0; step /= 2)
      if (pos + step < tree_.size() && tree_[pos + step] <= u) {
        pos += step;
        u -= tree_[pos];
      }
    return pos;
  }

 private:
  std::vector<int64_t> tree_;
  int64_t total_ = 0;
};

// Records grouped by identity, in sorted label order, each group in split order.
std::vector<std::vector<size_t>> group_by_identity(const std::vector<size_t>& records,
                                                   const std::vector<int64_t>& labels) {
  if (records.size() != labels.size())
    throw std::invalid_argument("sampler: " + std::to_string(labels.size()) + " labels for " +
                                std::to_string(records.size()) + " records");
  std::map<int64_t, std::vector<size_t>> groups;
  for (size_t i = 0; i < records.size(); ++i) {
    if (labels[i] < 0)
      throw std::invalid_argument("sampler: record " + std::to_string(records[i]) +
                                  " has no identity label; K-per-identity batches need labelled records");
    groups[labels[i]].push_back(records[i]);
  }
  std::vector<std::vector<size_t>> out;
  out.reserve(groups.size());
  for (auto& [label, group] : groups) out.push_back(std::move(group));
  return out;
}

struct Geometry {
  int64_t slots = 0;        // Q: identities per step, all ranks
  int64_t per_rank = 0;     // P
  int64_t steps = 0;        // L
};

Geometry geometry(const std::vector<std::vector<size_t>>& groups, const IdentityBatchOptions& o) {
  const int64_t k = o.instances_per_identity;
  if (k < 1 || o.batch_size < 1 || o.batch_size % k != 0)
    throw std::invalid_argument("sampler: batch size " + std::to_string(o.batch_size) +
                                " is not a multiple of instances per identity " + std::to_string(k));
  Geometry g;
  g.per_rank = o.batch_size / k;
  g.slots = g.per_rank * o.world_size;
  if (static_cast<int64_t>(groups.size()) < g.slots)
    throw std::invalid_argument("sampler: " + std::to_string(g.per_rank) + " identities per batch x " +
                                std::to_string(o.world_size) + " ranks need " + std::to_string(g.slots) +
                                " distinct identities per step, the split has " + std::to_string(groups.size()) +
                                " (lower train.micro_batch or raise data.instances_per_identity)");
  int64_t chunks = 0, most = 0;
  for (const auto& group : groups) {
    const int64_t c = (static_cast<int64_t>(group.size()) + k - 1) / k;
    chunks += c;
    most = std::max(most, c);
  }
  g.steps = std::max((chunks + g.slots - 1) / g.slots, most);
  return g;
}

void shuffle(std::vector<size_t>& v, SampleRng& rng) {
  for (size_t i = v.size(); i > 1; --i)
    std::swap(v[i - 1], v[static_cast<size_t>(rng.randint(0, static_cast<int64_t>(i)))]);
}

}  // namespace

int64_t identity_batch_steps(const std::vector<int64_t>& labels, const IdentityBatchOptions& options) {
  std::vector<size_t> records(labels.size());
  for (size_t i = 0; i < records.size(); ++i) records[i] = i;
  return geometry(group_by_identity(records, labels), options).steps;
}

std::vector<std::vector<size_t>> identity_batch_streams(const std::vector<size_t>& records,
                                                        const std::vector<int64_t>& labels,
                                                        const IdentityBatchOptions& o) {
  std::vector<std::vector<size_t>> groups = group_by_identity(records, labels);
  const Geometry g = geometry(groups, o);
  const int64_t k = o.instances_per_identity;
  const size_t n = groups.size();

  // Each identity's records in this epoch's order, consumed K at a time, cycling.
  std::vector<size_t> next(n, 0);
  std::vector<int64_t> left(n);  // regular chunks not yet placed
  Fenwick weights(n);
  std::set<std::pair<int64_t, size_t>> by_left;  // (chunks left, identity)
  for (size_t i = 0; i < n; ++i) {
    SampleRng rng = SampleRng::for_record(o.seed, o.epoch, SampleRng::mix(0x1d3a7e5ULL ^ i));
    shuffle(groups[i], rng);
    left[i] = (static_cast<int64_t>(groups[i].size()) + k - 1) / k;
    weights.add(i, left[i]);
    by_left.insert({left[i], i});
  }
  SampleRng rng = SampleRng::for_record(o.seed, o.epoch, ~1ULL);  // a stream no record uses

  std::vector<std::vector<size_t>> streams(static_cast<size_t>(o.world_size));
  for (auto& s : streams) s.reserve(static_cast<size_t>(g.steps * o.batch_size));
  std::vector<char> in_step(n, 0);
  std::vector<size_t> step;
  std::vector<size_t> regular;  // identities placed from their chunks left in this step
  for (int64_t s = 0; s < g.steps; ++s) {
    const int64_t steps_left = g.steps - s;
    step.clear();
    regular.clear();
    auto take = [&](size_t id) {
      in_step[id] = 1;
      step.push_back(id);
      regular.push_back(id);
      weights.add(id, -left[id]);  // out of the draw for the rest of this step
    };
    // Identities with as many chunks left as steps left must go in every remaining step.
    for (auto it = by_left.rbegin(); it != by_left.rend() && it->first == steps_left; ++it) take(it->second);
    while (static_cast<int64_t>(step.size()) < g.slots && weights.total() > 0)
      take(weights.find(rng.randint(0, weights.total())));
    for (size_t id : regular) {
      by_left.erase({left[id], id});
      if (--left[id] > 0) by_left.insert({left[id], id});
      weights.add(id, left[id]);
    }
    // Padding: extra chunks of identities not in this step (n >= slots, so there are enough).
    while (static_cast<int64_t>(step.size()) < g.slots) {
      const size_t id = static_cast<size_t>(rng.randint(0, static_cast<int64_t>(n)));
      if (in_step[id]) continue;
      in_step[id] = 1;
      step.push_back(id);
    }
    shuffle(step, rng);  // which rank gets which identity
    for (size_t slot = 0; slot < step.size(); ++slot) {
      const size_t id = step[slot];
      in_step[id] = 0;
      auto& out = streams[slot / static_cast<size_t>(g.per_rank)];
      const auto& group = groups[id];
      for (int64_t j = 0; j < k; ++j) out.push_back(group[next[id]++ % group.size()]);
    }
  }
  return streams;
}

}  // namespace wildreid::data
