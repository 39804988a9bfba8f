// WildFusion: for each query, the top-B database images of a priority (global) pipeline are
// scored by every pipeline of the component, each pipeline's scores are mapped through its own
// isotonic calibration to a probability of "same individual", and the calibrated scores are
// averaged. Pairs outside the shortlist score -inf. The prediction is the identity of the best
// database image (ties go to the earlier image in the priority order); the confidence is its
// fused score. Calibrations are fitted on the calibration scenario's shortlisted pairs, i.e. on
// the same kind of pairs they are later applied to, and never on query images.
#pragma once
#include <string>
#include <vector>

#include <ATen/Tensor.h>

#include "identify/isotonic.h"
#include "identify/pipeline.h"
#include "identify/prediction.h"
#include "identify/scenario.h"

namespace wildreid::identify {

struct WildFusionOptions {
  std::string name;
  int64_t shortlist = 100;     // B; <= 0: every database image of the query's dataset ("all")
  bool within_dataset = true;  // compare queries only with database images of their dataset
};

// The fused matrix of one scenario, kept for inspection and tests.
struct WildFusionScores {
  at::Tensor database_rows;             // int64 [Q, B] row indices, -1 past the candidates
  std::vector<at::Tensor> raw;          // per pipeline float32 [Q, B]
  at::Tensor fused;                     // float32 [Q, B], -inf outside the shortlist
};

class WildFusion {
 public:
  // `priority` shortlists and must also be one of `pipelines` (its scores count in the mean).
  WildFusion(WildFusionOptions options, GlobalPipeline* priority, std::vector<Pipeline*> pipelines);

  const std::string& name() const { return options_.name; }
  // Fits one calibration per pipeline on the scenario's shortlisted pairs (hit: the database
  // image shows the query's individual), then predicts the scenario.
  Predictions calibrate(const Scenario& calibration, const RowTable& table);
  Predictions predict(const Scenario& scenario, const RowTable& table);
  // Raw, calibrated and fused scores of a scenario (after calibrate()).
  WildFusionScores scores(const Scenario& scenario, const RowTable& table);
  const std::vector<IsotonicCalibration>& calibrations() const { return calibrations_; }

 private:
  WildFusionScores raw_scores(const Scenario& scenario, const RowTable& table);
  void fuse(WildFusionScores& s) const;
  Predictions decide(const WildFusionScores& s, const RowTable& table) const;

  WildFusionOptions options_;
  GlobalPipeline* priority_;
  std::vector<Pipeline*> pipelines_;
  std::vector<IsotonicCalibration> calibrations_;
};

}  // namespace wildreid::identify
