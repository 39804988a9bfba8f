#include "identify/wildfusion.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace wildreid::identify {

WildFusion::WildFusion(WildFusionOptions options, GlobalPipeline* priority, std::vector<Pipeline*> pipelines)
    : options_(std::move(options)), priority_(priority), pipelines_(std::move(pipelines)) {
  if (!priority_) throw std::invalid_argument("WildFusion '" + options_.name + "': no priority pipeline");
  if (pipelines_.empty()) throw std::invalid_argument("WildFusion '" + options_.name + "': no pipelines");
  if (std::find(pipelines_.begin(), pipelines_.end(), static_cast<Pipeline*>(priority_)) == pipelines_.end())
    throw std::invalid_argument("WildFusion '" + options_.name + "': the priority pipeline '" + priority_->name() +
                                "' must be one of its pipelines");
}

WildFusionScores WildFusion::raw_scores(const Scenario& s, const RowTable& t) {
  const Shortlist shortlist = priority_->shortlist(s, t, options_.shortlist, options_.within_dataset);
  WildFusionScores out;
  out.database_rows = shortlist.index;
  for (Pipeline* p : pipelines_)
    out.raw.push_back(p == priority_ ? shortlist.score : p->score(s.queries, shortlist.index));
  return out;
}

void WildFusion::fuse(WildFusionScores& s) const {
  at::Tensor sum;
  for (size_t k = 0; k < pipelines_.size(); ++k) {
    const auto calibrated = calibrations_[k].predict(s.raw[k]);
    sum = sum.defined() ? sum + calibrated : calibrated;
  }
  const auto minus_inf = at::full({}, -std::numeric_limits<float>::infinity());
  s.fused = at::where(s.database_rows.ge(0), sum / static_cast<double>(pipelines_.size()), minus_inf);
}

Predictions WildFusion::decide(const WildFusionScores& s, const RowTable& t) const {
  const int64_t q = s.fused.size(0);
  Predictions out(static_cast<size_t>(q));
  if (q == 0 || s.fused.size(1) == 0) return out;
  const auto [best, where] = s.fused.max(1);  // first maximum: ties go to the higher priority score
  const auto rows = s.database_rows.gather(1, where.unsqueeze(1)).squeeze(1);
  const auto b = best.accessor<float, 1>();
  const auto r = rows.accessor<int64_t, 1>();
  for (int64_t i = 0; i < q; ++i) {
    if (r[i] < 0 || b[i] == -std::numeric_limits<float>::infinity()) continue;
    out[i].identity = t.key[r[i]];
    out[i].confidence = b[i];
  }
  return out;
}

Predictions WildFusion::calibrate(const Scenario& s, const RowTable& t) {
  WildFusionScores scored = raw_scores(s, t);
  const auto rows = scored.database_rows;
  const auto acc = rows.accessor<int64_t, 2>();
  std::vector<double> hits;
  std::vector<int64_t> valid;  // flat positions of real pairs
  for (int64_t i = 0; i < rows.size(0); ++i)
    for (int64_t j = 0; j < rows.size(1); ++j)
      if (acc[i][j] >= 0) {
        valid.push_back(i * rows.size(1) + j);
        hits.push_back(t.key[acc[i][j]] == t.key[s.queries[i]] ? 1.0 : 0.0);
      }
  if (valid.empty())
    throw std::runtime_error("WildFusion '" + options_.name + "': no calibration pair (no calibration query has a "
                             "database image of its dataset)");
  const auto flat = at::tensor(at::ArrayRef<int64_t>(valid), at::kLong);
  calibrations_.assign(pipelines_.size(), IsotonicCalibration{});
  for (size_t k = 0; k < pipelines_.size(); ++k) {
    const auto x = scored.raw[k].flatten().index_select(0, flat).to(at::kDouble).contiguous();
    std::vector<double> xs(x.data_ptr<double>(), x.data_ptr<double>() + x.numel());
    try {
      calibrations_[k].fit(xs, hits);
    } catch (const std::exception& e) {
      throw std::runtime_error("WildFusion '" + options_.name + "', pipeline '" + pipelines_[k]->name() + "': " + e.what());
    }
  }
  fuse(scored);
  return decide(scored, t);
}

WildFusionScores WildFusion::scores(const Scenario& s, const RowTable& t) {
  if (calibrations_.empty()) throw std::logic_error("WildFusion '" + options_.name + "' used before calibrate()");
  WildFusionScores scored = raw_scores(s, t);
  fuse(scored);
  return scored;
}

Predictions WildFusion::predict(const Scenario& s, const RowTable& t) { return decide(scores(s, t), t); }

}  // namespace wildreid::identify
