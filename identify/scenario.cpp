// Withheld identities are drawn per dataset from a sorted list with a seeded shuffle, so the
// calibration problem is the same for the same file and options on every machine.
#include "identify/scenario.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <stdexcept>

#include "identify/prediction.h"

namespace wildreid::identify {

RowTable::RowTable(const EmbeddingRows& r) : rows(r) {
  key.resize(r.size());
  dataset_id.resize(r.size());
  std::map<std::string, int64_t> ids;
  for (size_t i = 0; i < r.size(); ++i) {
    if (!r.identity[i].empty()) key[i] = identity_key(r.dataset[i], r.identity[i]);
    auto it = ids.find(r.dataset[i]);
    if (it == ids.end()) {
      it = ids.emplace(r.dataset[i], static_cast<int64_t>(dataset_names.size())).first;
      dataset_names.push_back(r.dataset[i]);
    }
    dataset_id[i] = it->second;
  }
}

at::Tensor Scenario::query_rows() const {
  return at::tensor(at::ArrayRef<int64_t>(queries), at::kLong);
}
at::Tensor Scenario::database_rows() const {
  return at::tensor(at::ArrayRef<int64_t>(database), at::kLong);
}

namespace {

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::vector<int64_t> database_rows(const RowTable& t, const ScenarioOptions& o) {
  std::vector<int64_t> out;
  for (size_t i = 0; i < t.rows.size(); ++i) {
    if (std::find(o.database_splits.begin(), o.database_splits.end(), t.rows.split[i]) == o.database_splits.end())
      continue;
    if (t.key[i].empty())
      throw std::runtime_error("row " + std::to_string(i) + " ('" + t.rows.image_id[i] + "', split " + t.rows.split[i] +
                               ") is a database row without identity");
    out.push_back(static_cast<int64_t>(i));
  }
  if (out.empty()) throw std::runtime_error("no database rows (splits " + joined(o.database_splits) + ")");
  return out;
}

}  // namespace

Scenario query_scenario(const RowTable& t, const ScenarioOptions& o) {
  Scenario s;
  s.name = "query";
  for (size_t i = 0; i < t.rows.size(); ++i)
    if (t.rows.split[i] == o.query_split) s.queries.push_back(static_cast<int64_t>(i));
  if (s.queries.empty()) throw std::runtime_error("no query rows (split '" + o.query_split + "')");
  s.database = database_rows(t, o);
  return s;
}

Scenario calibration_scenario(const RowTable& t, const ScenarioOptions& o) {
  if (!(o.unknown_fraction >= 0 && o.unknown_fraction < 1))
    throw std::invalid_argument("calibration unknown fraction must be in [0, 1)");
  const auto database = database_rows(t, o);
  Scenario s;
  s.name = "calibration";
  std::vector<int64_t> rest;
  for (size_t k = 0; k < database.size(); ++k) {
    const int64_t row = database[k];
    const bool calibration = o.calibration_first > 0 ? static_cast<int64_t>(k) < o.calibration_first
                                                     : t.rows.split[row] == o.calibration_split;
    (calibration ? s.queries : rest).push_back(row);
  }
  if (s.queries.empty())
    throw std::runtime_error(o.calibration_first > 0 ? std::string("no calibration rows")
                                                     : "no calibration rows (no database row has split '" +
                                                           o.calibration_split + "')");
  if (rest.empty())
    throw std::runtime_error("the calibration set takes all " + std::to_string(database.size()) +
                             " database rows (calibration." +
                             (o.calibration_first > 0 ? "first = " + std::to_string(o.calibration_first)
                                                      : "split = " + o.calibration_split) +
                             "): nothing is left to match it against");

  // Identities that would be known (present on both sides), per dataset, sorted.
  std::set<std::string> rest_keys;
  for (const int64_t r : rest) rest_keys.insert(t.key[r]);
  std::map<int64_t, std::set<std::string>> known;
  for (const int64_t q : s.queries)
    if (rest_keys.count(t.key[q])) known[t.dataset_id[q]].insert(t.key[q]);
  std::set<std::string> withheld;
  for (const auto& [dataset, keys] : known) {
    std::vector<std::string> list(keys.begin(), keys.end());
    std::mt19937_64 rng(o.seed * 1000003u + static_cast<uint64_t>(dataset));
    std::shuffle(list.begin(), list.end(), rng);
    int64_t n = static_cast<int64_t>(std::llround(o.unknown_fraction * static_cast<double>(list.size())));
    if (o.unknown_fraction > 0 && list.size() >= 2) n = std::max<int64_t>(n, 1);
    n = std::min<int64_t>(n, static_cast<int64_t>(list.size()) - 1);
    for (int64_t i = 0; i < n; ++i) withheld.insert(list[i]);
  }
  for (const int64_t r : rest)
    if (!withheld.count(t.key[r])) s.database.push_back(r);
  std::set<std::string> database_keys;
  for (const int64_t r : s.database) database_keys.insert(t.key[r]);
  for (const int64_t q : s.queries) s.truth.push_back(database_keys.count(t.key[q]) ? t.key[q] : kNewIndividual);
  s.withheld.assign(withheld.begin(), withheld.end());
  return s;
}

}  // namespace wildreid::identify
