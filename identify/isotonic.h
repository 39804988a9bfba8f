// Isotonic calibration of pair scores (WildFusion): a non-decreasing map from a pipeline's raw
// score to the probability that the pair shows the same individual, fitted by
// pool-adjacent-violators on calibration pairs (score, hit). Same semantics as scikit-learn's
// IsotonicRegression(out_of_bounds="clip"): equal scores are merged first (weighted mean), the
// fit is evaluated by linear interpolation between the merged points and clipped to the fitted
// range outside it, so scores of different pipelines become comparable and can be averaged.
#pragma once
#include <vector>

#include <ATen/Tensor.h>

namespace wildreid::identify {

class IsotonicCalibration {
 public:
  // x: scores, y: targets (0/1 hits or any values), w: weights (empty: all 1). Non-finite x are
  // ignored. Throws when no finite point remains.
  void fit(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& w = {});
  bool fitted() const { return !knot_x_.empty(); }

  // NaN stays NaN and -inf (a pair that is no candidate) stays -inf; everything else is clipped
  // to the fitted range.
  double predict(double x) const;
  at::Tensor predict(const at::Tensor& x) const;  // elementwise, float32 result

  // The merged points and their fitted values (increasing x, non-decreasing y).
  const std::vector<double>& knot_x() const { return knot_x_; }
  const std::vector<double>& knot_y() const { return knot_y_; }

 private:
  std::vector<double> knot_x_, knot_y_;
};

// Pool-adjacent-violators on values already in x order: the non-decreasing sequence closest to
// `y` in weighted least squares. Exposed for tests.
std::vector<double> pool_adjacent_violators(const std::vector<double>& y, const std::vector<double>& w);

}  // namespace wildreid::identify
