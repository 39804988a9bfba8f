// The known/unknown decision: a query whose fused confidence reaches the threshold gets the
// predicted identity, otherwise new_individual. The threshold is fixed, or tuned on the
// calibration scenario (whose withheld identities play the unknowns) to maximise the competition
// score itself: every midpoint between consecutive distinct confidences is tried (plus accept-all
// and reject-all), and the middle one of the best-scoring candidates is kept. Per dataset when
// asked, since a dataset's score depends only on its own queries.
#pragma once
#include <map>
#include <string>

#include "identify/competition_metric.h"
#include "identify/prediction.h"
#include "identify/scenario.h"

namespace wildreid::identify {

struct Threshold {
  double global = 0.5;
  std::map<std::string, double> per_dataset;  // tuned per dataset (overrides global)
  double calibration_score = -1;              // the score it reached on the calibration set (-1: not tuned)

  double for_dataset(const std::string& dataset) const;
};

// The submission answer for one prediction: its identity key, or new_individual.
std::string decide(const Prediction& prediction, double threshold);

// The calibration problem coded for the metric (truth from scenario.truth).
MetricProblem calibration_problem(const Scenario& calibration, const RowTable& table);

// Score of `predictions` on the calibration scenario with a threshold.
MetricResult calibration_score(const Predictions& predictions, const Scenario& calibration, const RowTable& table,
                               const Threshold& threshold);

Threshold tune_threshold(const Predictions& predictions, const Scenario& calibration, const RowTable& table,
                         bool per_dataset);

}  // namespace wildreid::identify
