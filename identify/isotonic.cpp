// Linear-time PAV with a stack of blocks (value, weight, length); prediction by binary search
// over the knots. The tensor path keeps -inf (a pair outside a shortlist) at -inf so it never
// wins a fused argmax.
#include "identify/isotonic.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace wildreid::identify {

std::vector<double> pool_adjacent_violators(const std::vector<double>& y, const std::vector<double>& w) {
  struct Block {
    double value, weight;
    size_t length;
  };
  std::vector<Block> blocks;
  blocks.reserve(y.size());
  for (size_t i = 0; i < y.size(); ++i) {
    blocks.push_back({y[i], w[i], 1});
    while (blocks.size() > 1 && blocks[blocks.size() - 2].value > blocks.back().value) {
      const Block top = blocks.back();
      blocks.pop_back();
      Block& prev = blocks.back();
      const double weight = prev.weight + top.weight;
      prev.value = weight > 0 ? (prev.value * prev.weight + top.value * top.weight) / weight
                              : 0.5 * (prev.value + top.value);
      prev.weight = weight;
      prev.length += top.length;
    }
  }
  std::vector<double> out;
  out.reserve(y.size());
  for (const auto& b : blocks) out.insert(out.end(), b.length, b.value);
  return out;
}

void IsotonicCalibration::fit(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& w) {
  if (x.size() != y.size() || (!w.empty() && w.size() != x.size()))
    throw std::invalid_argument("isotonic fit: x, y and weights differ in length");
  std::vector<size_t> order;
  order.reserve(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    if (std::isfinite(x[i])) order.push_back(i);
  if (order.empty()) throw std::invalid_argument("isotonic fit: no finite calibration score");
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  // Merge equal x: weighted mean of y, summed weight.
  std::vector<double> ux, uy, uw;
  for (size_t k = 0; k < order.size();) {
    const double xv = x[order[k]];
    double sw = 0, swy = 0;
    size_t j = k;
    for (; j < order.size() && x[order[j]] == xv; ++j) {
      const double wi = w.empty() ? 1.0 : w[order[j]];
      sw += wi;
      swy += wi * y[order[j]];
    }
    ux.push_back(xv);
    uy.push_back(sw > 0 ? swy / sw : 0.0);
    uw.push_back(sw);
    k = j;
  }
  knot_y_ = pool_adjacent_violators(uy, uw);
  knot_x_ = std::move(ux);
}

double IsotonicCalibration::predict(double x) const {
  if (!fitted()) throw std::logic_error("isotonic calibration used before fit");
  if (std::isnan(x) || x == -std::numeric_limits<double>::infinity()) return x;
  if (x <= knot_x_.front()) return knot_y_.front();
  if (x >= knot_x_.back()) return knot_y_.back();
  const size_t hi = static_cast<size_t>(std::upper_bound(knot_x_.begin(), knot_x_.end(), x) - knot_x_.begin());
  const size_t lo = hi - 1;
  const double t = (x - knot_x_[lo]) / (knot_x_[hi] - knot_x_[lo]);
  return knot_y_[lo] + t * (knot_y_[hi] - knot_y_[lo]);
}

at::Tensor IsotonicCalibration::predict(const at::Tensor& x) const {
  if (!fitted()) throw std::logic_error("isotonic calibration used before fit");
  const auto opts = at::TensorOptions().dtype(at::kDouble).device(x.device());
  const auto kx = at::tensor(at::ArrayRef<double>(knot_x_), at::kDouble).to(x.device());
  const auto ky = at::tensor(at::ArrayRef<double>(knot_y_), at::kDouble).to(x.device());
  const auto xd = x.to(opts).contiguous();
  const int64_t n = kx.size(0);
  const auto clipped = xd.clamp(knot_x_.front(), knot_x_.back());
  at::Tensor result;
  if (n == 1) {
    result = at::full_like(xd, knot_y_.front());
  } else {
    const auto hi = at::searchsorted(kx, clipped, /*out_int32=*/false, /*right=*/true).clamp(1, n - 1);
    const auto lo = hi - 1;
    const auto x0 = kx.index_select(0, lo.flatten()).view_as(xd), x1 = kx.index_select(0, hi.flatten()).view_as(xd);
    const auto y0 = ky.index_select(0, lo.flatten()).view_as(xd), y1 = ky.index_select(0, hi.flatten()).view_as(xd);
    result = y0 + (clipped - x0) / (x1 - x0) * (y1 - y0);
  }
  result = at::where(at::isneginf(xd), at::full_like(xd, -std::numeric_limits<double>::infinity()), result);
  result = at::where(at::isnan(xd), xd, result);
  return result.to(at::kFloat);
}

}  // namespace wildreid::identify
