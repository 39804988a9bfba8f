// Learning-rate schedule as a pure function of the optimizer step, so resuming needs only the step
// count: linear warmup over warmup_ratio x total steps from 0, then constant, linear or cosine
// decay to min_lr at the last step (timm / transformers conventions).
#pragma once
#include <cstdint>

#include "trainer/train_config.h"

namespace wildreid::trainer {

class LrSchedule {
 public:
  LrSchedule(LrScheduleKind kind, double peak_lr, int64_t total_steps, double warmup_ratio,
             double min_lr = 0.0);
  double at_step(int64_t step) const;  // lr for optimizer step `step` (0-based)
  int64_t warmup_steps() const { return warmup_steps_; }
  int64_t total_steps() const { return total_steps_; }

 private:
  LrScheduleKind kind_;
  double peak_, min_;
  int64_t total_steps_, warmup_steps_;
};

}  // namespace wildreid::trainer
