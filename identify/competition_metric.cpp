// Scores are computed per (subset, dataset) from integer-coded queries; the CSV side only maps
// the files onto that core and refuses submissions that do not cover the solution exactly.
#include "identify/competition_metric.h"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <unordered_map>

#include "identify/prediction.h"

namespace wildreid::identify {

void MetricProblem::add(const std::string& dataset_name, const std::string& true_identity, bool is_unknown) {
  int32_t d = -1;
  for (size_t i = 0; i < dataset_names.size(); ++i)
    if (dataset_names[i] == dataset_name) d = static_cast<int32_t>(i);
  if (d < 0) {
    d = static_cast<int32_t>(dataset_names.size());
    dataset_names.push_back(dataset_name);
  }
  // Groups are keyed by dataset, truth side and identity: an unknown individual is never pooled
  // with a known one of the same name.
  const std::string key = dataset_name + (is_unknown ? "\x01u\x01" : "\x01k\x01") + true_identity;
  const int32_t g = group_index_.emplace(key, num_groups).first->second;
  if (g == num_groups) ++num_groups;
  dataset.push_back(d);
  group.push_back(g);
  unknown.push_back(is_unknown ? 1 : 0);
}

MetricResult score_hits(const MetricProblem& p, const std::vector<uint8_t>& hit) {
  if (hit.size() != p.size()) throw std::invalid_argument("score_hits: one hit per query expected");
  std::vector<double> group_hits(p.num_groups, 0.0);
  std::vector<size_t> group_size(p.num_groups, 0);
  std::vector<int32_t> group_dataset(p.num_groups, 0);
  std::vector<uint8_t> group_unknown(p.num_groups, 0);
  MetricResult r;
  r.datasets.resize(p.dataset_names.size());
  for (size_t i = 0; i < p.size(); ++i) {
    group_hits[p.group[i]] += hit[i] ? 1.0 : 0.0;
    ++group_size[p.group[i]];
    group_dataset[p.group[i]] = p.dataset[i];
    group_unknown[p.group[i]] = p.unknown[i];
    auto& d = r.datasets[p.dataset[i]];
    ++(p.unknown[i] ? d.unknown_images : d.known_images);
  }
  for (int32_t g = 0; g < p.num_groups; ++g) {
    if (group_size[g] == 0) continue;
    auto& d = r.datasets[group_dataset[g]];
    const double accuracy = group_hits[g] / static_cast<double>(group_size[g]);
    if (group_unknown[g]) {
      d.baus += accuracy;
      ++d.unknown_identities;
    } else {
      d.baks += accuracy;
      ++d.known_identities;
    }
  }
  double total = 0;
  for (size_t k = 0; k < r.datasets.size(); ++k) {
    auto& d = r.datasets[k];
    d.dataset = p.dataset_names[k];
    if (d.known_identities) d.baks /= static_cast<double>(d.known_identities);
    if (d.unknown_identities) d.baus /= static_cast<double>(d.unknown_identities);
    d.score = (d.known_identities && d.unknown_identities) ? std::sqrt(d.baks * d.baus) : 0.0;
    total += d.score;
  }
  r.score = r.datasets.empty() ? 0.0 : total / static_cast<double>(r.datasets.size());
  return r;
}

namespace {

int required_column(const data::CsvTable& t, const char* name) {
  const int c = t.column(name);
  if (c < 0) throw std::runtime_error(t.source + ": no '" + name + "' column");
  return c;
}

}  // namespace

Evaluation evaluate_submission(const data::CsvTable& solution, const data::CsvTable& submission) {
  const int s_id = required_column(solution, "image_id");
  const int s_identity = required_column(solution, "identity");
  const int s_dataset = required_column(solution, "dataset");
  const int s_new = solution.column("new_identity");
  const int s_usage = solution.column("Usage");
  const int p_id = required_column(submission, "image_id");
  const int p_identity = required_column(submission, "identity");

  std::unordered_map<std::string, size_t> predicted;  // image_id -> submission row
  for (size_t r = 0; r < submission.rows.size(); ++r)
    if (!predicted.emplace(submission.rows[r][p_id], r).second)
      throw std::runtime_error(submission.where(r) + ": image_id '" + submission.rows[r][p_id] +
                               "' appears twice in the submission");
  std::unordered_map<std::string, size_t> expected;
  for (size_t r = 0; r < solution.rows.size(); ++r)
    if (!expected.emplace(solution.rows[r][s_id], r).second)
      throw std::runtime_error(solution.where(r) + ": image_id '" + solution.rows[r][s_id] +
                               "' appears twice in the solution");
  std::string missing, extra;
  size_t n_missing = 0, n_extra = 0;
  for (const auto& row : solution.rows)
    if (!predicted.count(row[s_id]) && n_missing++ == 0) missing = row[s_id];
  for (const auto& row : submission.rows)
    if (!expected.count(row[p_id]) && n_extra++ == 0) extra = row[p_id];
  if (n_missing || n_extra) {
    std::string msg = submission.source + ": image_ids differ from " + solution.source + ":";
    if (n_missing) msg += " " + std::to_string(n_missing) + " missing (first '" + missing + "')";
    if (n_extra) msg += std::string(n_missing ? ";" : "") + " " + std::to_string(n_extra) + " not in the solution (first '" + extra + "')";
    throw std::runtime_error(msg);
  }

  std::vector<std::string> subset_names = {"all"};
  if (s_usage >= 0)
    for (const auto& row : solution.rows) {
      bool seen = false;
      for (const auto& n : subset_names) seen |= (n == row[s_usage]);
      if (!seen) subset_names.push_back(row[s_usage]);
    }
  Evaluation out;
  for (const auto& name : subset_names) {
    MetricProblem problem;
    std::vector<uint8_t> hits;
    for (const auto& row : solution.rows) {
      if (name != "all" && row[s_usage] != name) continue;
      const bool unknown = (s_new >= 0 ? row[s_new] : row[s_identity]) == kNewIndividual;
      problem.add(row[s_dataset], row[s_identity], unknown);
      const std::string& guess = submission.rows[predicted.at(row[s_id])][p_identity];
      hits.push_back(unknown ? guess == kNewIndividual : guess == row[s_identity]);
    }
    out.subsets.push_back({name, problem.size(), score_hits(problem, hits)});
  }
  return out;
}

Evaluation evaluate_answers(const data::CsvTable& solution, const std::vector<std::string>& image_ids,
                            const std::vector<std::string>& answers, const std::string& source) {
  if (image_ids.size() != answers.size()) throw std::invalid_argument("evaluate_answers: one answer per image_id");
  data::CsvTable submission;
  submission.source = source;
  submission.header = {"image_id", "identity"};
  for (size_t i = 0; i < image_ids.size(); ++i) {
    submission.rows.push_back({image_ids[i], answers[i]});
    submission.row_lines.push_back(i + 2);
  }
  return evaluate_submission(solution, submission);
}

std::string evaluation_table(const Evaluation& e) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-8s %-24s %8s %8s %8s %7s %7s\n", "subset", "dataset", "BAKS", "BAUS", "score",
                "known", "unknown");
  out += line;
  for (const auto& s : e.subsets) {
    for (const auto& d : s.result.datasets) {
      std::snprintf(line, sizeof line, "%-8s %-24s %8.4f %8.4f %8.4f %7zu %7zu\n", s.name.c_str(), d.dataset.c_str(),
                    d.baks, d.baus, d.score, d.known_images, d.unknown_images);
      out += line;
    }
    std::snprintf(line, sizeof line, "%-8s %-24s %8s %8s %8.4f %7s %7zu\n", s.name.c_str(), "(mean over datasets)", "",
                  "", s.result.score, "", s.images);
    out += line;
  }
  return out;
}

nlohmann::json evaluation_json(const Evaluation& e) {
  nlohmann::json subsets = nlohmann::json::array();
  for (const auto& s : e.subsets) {
    nlohmann::json datasets = nlohmann::json::array();
    for (const auto& d : s.result.datasets)
      datasets.push_back({{"dataset", d.dataset}, {"BAKS", d.baks}, {"BAUS", d.baus}, {"score", d.score},
                          {"known_images", d.known_images}, {"unknown_images", d.unknown_images},
                          {"known_identities", d.known_identities}, {"unknown_identities", d.unknown_identities}});
    subsets.push_back({{"subset", s.name}, {"images", s.images}, {"score", s.result.score}, {"datasets", datasets}});
  }
  return {{"score", e.score()}, {"subsets", subsets}};
}

}  // namespace wildreid::identify
