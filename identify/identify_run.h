// `trainer identify` as a library call: reads the embeddings file, builds the configured
// pipelines and components, solves the calibration scenario (fitting calibrations, the MLP's twin
// and the threshold) and then the real one, fuses, thresholds and writes DIR/submission.csv,
// DIR/predictions.csv and DIR/summary.json (each atomically). Local pipelines need a
// PairScorerFactory, which trainer/commands provides when a matcher is linked in.
#pragma once
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "identify/identify_config.h"
#include "identify/pair_scorer.h"
#include "identify/prediction.h"
#include "identify/threshold.h"

namespace wildreid::identify {

struct RunOptions {
  IdentifyConfig config;
  std::filesystem::path embeddings;
  std::filesystem::path out;
  PairScorerFactory scorer_factory;             // empty: local pipelines are refused
  std::string shards;                           // shard set of local pipelines (default: the file's)
  std::function<void(const std::string&)> log;  // progress lines
};

// One component or fusion step, as reported at the end.
struct StageSummary {
  std::string name, type, detail;
  double seconds = 0;
  double calibration_score = 0;      // at this stage's own tuned threshold
  double own_threshold = 0;          // that threshold
  Predictions query;                 // per query of the real scenario
};

struct RunSummary {
  std::string output;
  std::vector<std::string> query_image_ids;
  std::vector<std::string> query_datasets;
  size_t database_images = 0, calibration_queries = 0, calibration_unknown = 0, withheld_identities = 0;
  std::vector<StageSummary> stages;  // components, then fusion steps
  Threshold threshold;               // applied to `output`
  std::vector<std::string> answers;  // submission identity per query (new_individual or identity)
  size_t new_individuals = 0;
  double seconds = 0;
};

RunSummary run_identify(const RunOptions& options);

// The human-readable end-of-run summary.
std::string summary_text(const RunSummary& summary);

}  // namespace wildreid::identify
