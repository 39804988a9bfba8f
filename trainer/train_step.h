// One optimizer step of the compute core: `accumulation` micro-steps of autocast forward +
// loss (cross-entropy with label smoothing unless the caller gives its own, e.g. ArcFace's) +
// scaled backward, gradient reduction only on the last
// micro-step, then unscale + non-finite check, global-norm clipping (after reduction, so every
// rank clips identically), fused AdamW at the scheduled lr, and the loss-scaler update. It knows
// nothing of MPI, HDF5 or OpenCV so it builds for the LibTorch-only GPU benchmark.
// Nothing in a step waits for the device: the non-finite flag, the clip coefficient, the loss and
// the norm stay device tensors (the fused optimizer skips its update itself when the flag is
// set), and phase times are device events on CUDA. The caller reads results when it needs them
// (StepResult::read), which on a GPU is the only host synchronisation of the step.
#pragma once
#include <ATen/ATen.h>

#include <functional>
#include <memory>
#include <vector>

#include "trainer/adamw.h"
#include "trainer/amp.h"
#include "trainer/gradient_sync.h"
#include "trainer/phase_clock.h"

namespace wildreid::trainer {

struct MicroBatch {
  at::Tensor images;  // N x 3 x H x W float
  at::Tensor labels;  // N int64
};

struct StepOptions {
  AmpMode amp = AmpMode::kOff;
  double label_smoothing = 0.0;
  double clip_grad_norm = 0.0;  // 0 = off (the norm is still computed and reported)
};

// A step's results as host values (what StepResult::read returns).
struct HostStepResult {
  double loss = 0;         // mean over micro-steps of this rank's loss
  double grad_norm = 0;    // global norm after reduction, before clipping; NaN when skipped
  bool skipped = false;    // non-finite gradients: no update
  double loss_scale = 1;   // scale used for this step
  PhaseTimes phases;
};

// A step's results where they were computed (float32 scalars on the parameters' device).
struct StepResult {
  at::Tensor loss, grad_norm, skipped, loss_scale;  // skipped: 1 when non-finite, else 0
  std::shared_ptr<PhaseClock> phases;
  // Copies everything to the host (waits for the device).
  HostStepResult read() const;
};

// Global L2 norm of `grads` as a device scalar; scales them in place so it is at most max_norm
// (if max_norm > 0) with a coefficient computed on the device.
at::Tensor clip_grad_norm(const std::vector<at::Tensor>& grads, double max_norm);

class TrainStep {
 public:
  using Forward = std::function<at::Tensor(const at::Tensor& images)>;  // logits, or what `Loss` takes
  // The loss of one micro-batch from the forward's output, computed inside the autocast region.
  // Empty: cross-entropy of the output as logits (in fp32) with the configured label smoothing.
  using Loss = std::function<at::Tensor(const at::Tensor& output, const at::Tensor& labels)>;
  TrainStep(Forward forward, std::vector<at::Tensor> params, AdamW& optimizer, GradScaler& scaler,
            GradientSync& sync, StepOptions options, Loss loss = {});

  // Runs one optimizer step over `micro` (one entry per micro-step) at learning rate `lr`.
  // inject_inf puts +inf into the first gradient after reduction (tests of the skip path).
  StepResult run(const std::vector<MicroBatch>& micro, double lr, bool inject_inf = false);

  // The configured loss of one micro-batch's forward output.
  at::Tensor loss(const at::Tensor& output, const at::Tensor& labels) const;

 private:
  Forward forward_;
  Loss loss_;
  std::vector<at::Tensor> params_;
  AdamW& optimizer_;
  GradScaler& scaler_;
  GradientSync& sync_;
  StepOptions options_;
};

}  // namespace wildreid::trainer
