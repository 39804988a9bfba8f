// Candidates are scored with the same integer-coded metric as `trainer evaluate`; with n
// calibration queries that is O(n^2) work, a fraction of a second for the few thousand
// calibration images of AnimalCLEF.
#include "identify/threshold.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace wildreid::identify {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

bool accepted(const Prediction& p, double threshold) { return p.has_identity() && p.confidence >= threshold; }

std::vector<uint8_t> hits(const Predictions& predictions, const Scenario& s, const std::vector<double>& thresholds) {
  std::vector<uint8_t> out(predictions.size());
  for (size_t i = 0; i < predictions.size(); ++i) {
    const bool unknown = s.truth[i] == kNewIndividual;
    const bool accept = accepted(predictions[i], thresholds[i]);
    out[i] = unknown ? !accept : (accept && predictions[i].identity == s.truth[i]);
  }
  return out;
}

// Best threshold for the queries selected by `use` (others keep +inf and count as rejected, which
// does not change the selected queries' dataset scores).
double best_threshold(const Predictions& predictions, const Scenario& s, const MetricProblem& problem,
                      const std::vector<uint8_t>& use, int32_t dataset) {
  std::vector<double> values;
  for (size_t i = 0; i < predictions.size(); ++i)
    if (use[i] && predictions[i].has_identity() && std::isfinite(predictions[i].confidence))
      values.push_back(predictions[i].confidence);
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  std::vector<double> candidates = {-kInf};
  for (size_t k = 0; k + 1 < values.size(); ++k) candidates.push_back(0.5 * (values[k] + values[k + 1]));
  candidates.push_back(kInf);
  std::vector<double> scores;
  std::vector<double> t(predictions.size(), kInf);
  for (const double c : candidates) {
    for (size_t i = 0; i < predictions.size(); ++i)
      if (use[i]) t[i] = c;
    const auto result = score_hits(problem, hits(predictions, s, t));
    scores.push_back(dataset < 0 ? result.score : result.datasets[dataset].score);
  }
  const double best = *std::max_element(scores.begin(), scores.end());
  std::vector<size_t> tied;
  for (size_t k = 0; k < scores.size(); ++k)
    if (scores[k] == best) tied.push_back(k);
  return candidates[tied[tied.size() / 2]];
}

}  // namespace

double Threshold::for_dataset(const std::string& dataset) const {
  const auto it = per_dataset.find(dataset);
  return it == per_dataset.end() ? global : it->second;
}

std::string decide(const Prediction& p, double threshold) {
  return accepted(p, threshold) ? p.identity : std::string(kNewIndividual);
}

MetricProblem calibration_problem(const Scenario& s, const RowTable& t) {
  MetricProblem problem;
  for (size_t i = 0; i < s.queries.size(); ++i) {
    const int64_t row = s.queries[i];
    // Unknowns are grouped by their real identity, as the competition groups new individuals.
    problem.add(t.rows.dataset[row], t.key[row], s.truth[i] == kNewIndividual);
  }
  return problem;
}

MetricResult calibration_score(const Predictions& predictions, const Scenario& s, const RowTable& t,
                               const Threshold& threshold) {
  if (predictions.size() != s.queries.size()) throw std::invalid_argument("one prediction per calibration query expected");
  std::vector<double> per_query;
  for (const int64_t row : s.queries) per_query.push_back(threshold.for_dataset(t.rows.dataset[row]));
  return score_hits(calibration_problem(s, t), hits(predictions, s, per_query));
}

Threshold tune_threshold(const Predictions& predictions, const Scenario& s, const RowTable& t, bool per_dataset) {
  if (predictions.size() != s.queries.size()) throw std::invalid_argument("one prediction per calibration query expected");
  const MetricProblem problem = calibration_problem(s, t);
  Threshold out;
  out.global = best_threshold(predictions, s, problem, std::vector<uint8_t>(predictions.size(), 1), -1);
  if (per_dataset)
    for (int32_t d = 0; d < static_cast<int32_t>(problem.dataset_names.size()); ++d) {
      std::vector<uint8_t> use(predictions.size());
      for (size_t i = 0; i < use.size(); ++i) use[i] = problem.dataset[i] == d;
      out.per_dataset[problem.dataset_names[d]] = best_threshold(predictions, s, problem, use, d);
    }
  out.calibration_score = calibration_score(predictions, s, t, out).score;
  return out;
}

}  // namespace wildreid::identify
