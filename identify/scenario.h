// The two identification problems one run solves with the same components. The real one: the
// query split against the database splits. The calibration one: calibration images (a database
// split such as val, or the first N database images; never a query) against the rest of the
// database, with a fraction of the calibration identities withheld from that database side so
// that it has unknown individuals too. Isotonic calibrations, the calibration twin of the MLP
// and the threshold are fitted on it, so nothing is fitted on query images.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/Tensor.h>

#include "identify/embeddings_file.h"

namespace wildreid::identify {

// Per-row keys derived once from the embeddings file's rows.
struct RowTable {
  explicit RowTable(const EmbeddingRows& rows);
  const EmbeddingRows& rows;
  std::vector<std::string> key;       // identity_key(dataset, identity); empty without identity
  std::vector<int64_t> dataset_id;    // dense, in first-seen order
  std::vector<std::string> dataset_names;
};

struct Scenario {
  std::string name;                 // "query" or "calibration"
  std::vector<int64_t> queries;     // row indices, in row order
  std::vector<int64_t> database;    // row indices, in row order
  std::vector<std::string> truth;   // calibration only: per query its key, or new_individual
  std::vector<std::string> withheld;  // calibration only: identity keys removed from the database side

  at::Tensor query_rows() const;     // int64 [Q]
  at::Tensor database_rows() const;  // int64 [N]
};

struct ScenarioOptions {
  std::string query_split = "query";
  std::vector<std::string> database_splits = {"train", "val"};
  std::string calibration_split = "val";  // database rows of this split are the calibration queries
  int64_t calibration_first = 0;          // > 0: the first N database rows instead
  double unknown_fraction = 0.3;          // of calibration identities, per dataset, withheld
  uint64_t seed = 42;
};

// Throws naming the split when there are no query or no database rows, or a database row has no
// identity.
Scenario query_scenario(const RowTable& table, const ScenarioOptions& options);
// Throws when the calibration set or its database side is empty.
Scenario calibration_scenario(const RowTable& table, const ScenarioOptions& options);

}  // namespace wildreid::identify
