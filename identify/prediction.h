// What every identification component produces per query: an identity (the "dataset/identity"
// key of a database individual, empty when the component has no answer) and a confidence.
// Components, rule fusion and the threshold all speak this one type.
#pragma once
#include <limits>
#include <string>
#include <vector>

namespace wildreid::identify {

inline constexpr const char* kNewIndividual = "new_individual";

struct Prediction {
  std::string identity;  // "dataset/identity"; empty: no answer (treated as new_individual)
  double confidence = -std::numeric_limits<double>::infinity();

  bool has_identity() const { return !identity.empty(); }
};

using Predictions = std::vector<Prediction>;  // one per query, in the scenario's query order

// "dataset/identity", the key under which identities are compared (identity names need not be
// unique across datasets).
inline std::string identity_key(const std::string& dataset, const std::string& identity) {
  return dataset + "/" + identity;
}

// The identity part of a key (what submission.csv holds).
inline std::string identity_of_key(const std::string& key) {
  const auto slash = key.find('/');
  return slash == std::string::npos ? key : key.substr(slash + 1);
}

}  // namespace wildreid::identify
