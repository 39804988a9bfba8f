// The compute core's view of gradient reduction (the DDP part), so the step logic builds with
// LibTorch alone: the cluster library's bucketed reducer is adapted to this interface in the full
// build (cluster_gradient_sync.cpp), while single-process runs and the GPU benchmark use
// LocalGradientSync. Contract: hooks registered by the implementation start reductions during
// backward when sync is on; finish() waits for them and leaves every grad averaged over ranks.
#pragma once

namespace wildreid::trainer {

class GradientSync {
 public:
  virtual ~GradientSync() = default;
  // Off on accumulation micro-steps (no communication), on for the last one.
  virtual void set_sync(bool enabled) = 0;
  // Waits for the outstanding reductions; returns the seconds spent waiting (exposed comm).
  virtual double finish() = 0;
  virtual int world_size() const = 0;
};

// One process: gradients are already "reduced".
class LocalGradientSync final : public GradientSync {
 public:
  void set_sync(bool) override {}
  double finish() override { return 0.0; }
  int world_size() const override { return 1; }
};

}  // namespace wildreid::trainer
