// The AnimalCLEF2025 competition metric, exactly: per dataset, BAKS = mean over known identities
// of the fraction of their query images predicted as that identity; BAUS = mean over unknown
// identities (truth new_individual, grouped by their true identity) of the fraction predicted
// new_individual; dataset score = sqrt(BAKS * BAUS), 0 when either side has no identity; final
// score = mean over datasets. Public/Private scores are the same computation on the rows of each
// `Usage` value. `trainer evaluate` and the threshold search share the integer-coded core, so the
// threshold is tuned on exactly the quantity that is reported.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "data/csv_reader.h"

namespace wildreid::identify {

// Queries coded as dense integers: which dataset, which truth identity (group) and whether the
// truth is new_individual.
struct MetricProblem {
  std::vector<std::string> dataset_names;
  std::vector<int32_t> dataset;   // per query: index into dataset_names
  std::vector<int32_t> group;     // per query: dense index of (dataset, true identity)
  std::vector<uint8_t> unknown;   // per query: 1 when the truth is new_individual
  int32_t num_groups = 0;

  size_t size() const { return dataset.size(); }
  // Appends a query; groups and datasets are numbered in first-seen order.
  void add(const std::string& dataset_name, const std::string& true_identity, bool is_unknown);

 private:
  std::unordered_map<std::string, int32_t> group_index_;
};

struct DatasetScore {
  std::string dataset;
  double baks = 0, baus = 0, score = 0;
  size_t known_images = 0, unknown_images = 0, known_identities = 0, unknown_identities = 0;
};

struct MetricResult {
  double score = 0;                    // mean over datasets
  std::vector<DatasetScore> datasets;  // in dataset_names order
};

// hit[i]: query i is right (a known query predicted as its identity, an unknown one predicted
// new_individual).
MetricResult score_hits(const MetricProblem& problem, const std::vector<uint8_t>& hit);

// One subset of the solution's rows ("all", then each Usage value in first-seen order).
struct SubsetScore {
  std::string name;
  size_t images = 0;
  MetricResult result;
};

struct Evaluation {
  std::vector<SubsetScore> subsets;
  double score() const { return subsets.empty() ? 0.0 : subsets.front().result.score; }
};

// Scores a submission (image_id,identity) against a solution (image_id,identity,dataset and
// optionally new_identity and Usage; unknowns are rows whose new_identity, or identity when there
// is no new_identity column, is new_individual). A submission whose image_ids differ from the
// solution's is refused naming the first missing and the first extra id; duplicates name the line.
Evaluation evaluate_submission(const data::CsvTable& solution, const data::CsvTable& submission);

// Scores answers held in memory (image_ids[i] was answered answers[i]) as a submission named
// `source`.
Evaluation evaluate_answers(const data::CsvTable& solution, const std::vector<std::string>& image_ids,
                            const std::vector<std::string>& answers, const std::string& source);

std::string evaluation_table(const Evaluation& evaluation);  // aligned text table
nlohmann::json evaluation_json(const Evaluation& evaluation);

}  // namespace wildreid::identify
