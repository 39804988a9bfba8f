// See lr_schedule.h.
#include "trainer/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace wildreid::trainer {

LrSchedule::LrSchedule(LrScheduleKind kind, double peak_lr, int64_t total_steps, double warmup_ratio,
                       double min_lr)
    : kind_(kind), peak_(peak_lr), min_(min_lr), total_steps_(std::max<int64_t>(total_steps, 1)) {
  if (warmup_ratio < 0 || warmup_ratio >= 1) throw std::invalid_argument("warmup_ratio must be in [0, 1)");
  warmup_steps_ = static_cast<int64_t>(std::floor(warmup_ratio * static_cast<double>(total_steps_)));
}

double LrSchedule::at_step(int64_t step) const {
  if (step < warmup_steps_) return peak_ * static_cast<double>(step + 1) / static_cast<double>(warmup_steps_ + 1);
  if (kind_ == LrScheduleKind::kConstant) return peak_;
  const double span = static_cast<double>(std::max<int64_t>(total_steps_ - warmup_steps_, 1));
  const double progress = std::clamp(static_cast<double>(step - warmup_steps_) / span, 0.0, 1.0);
  if (kind_ == LrScheduleKind::kLinear) return min_ + (peak_ - min_) * (1.0 - progress);
  return min_ + (peak_ - min_) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

}  // namespace wildreid::trainer
