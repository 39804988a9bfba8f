// Mixed precision for the compute core: an autocast scope (bf16 or fp16, CPU or CUDA) and a
// dynamic loss scaler for fp16 built from ATen's own _amp_* kernels, the same ones Python's
// torch.amp.GradScaler calls, so skip/back-off/grow behave exactly like PyTorch's.
#pragma once
#include <ATen/ATen.h>

#include <vector>

#include "trainer/train_config.h"

namespace wildreid::trainer {

// Enables autocast for `device` while alive (no-op for AmpMode::kOff); nests like torch.autocast.
class AutocastScope {
 public:
  AutocastScope(AmpMode mode, at::DeviceType device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  at::DeviceType device_;
  bool prev_enabled_ = false;
  at::ScalarType prev_dtype_ = at::kFloat;
};

// Dynamic loss scaling (fp16). When disabled, scale() is 1 and unscale only detects non-finite
// gradients, which the trainer also needs for bf16/fp32 (skip the step, count it).
class GradScaler {
 public:
  GradScaler(bool enabled, double init_scale, int64_t growth_interval, at::Device device,
             double growth_factor = 2.0, double backoff_factor = 0.5);

  at::Tensor scale_loss(const at::Tensor& loss) const;  // loss x scale (identity when disabled)
  // Divides grads by the scale in place and sets found_inf() to 1 when any is inf/nan, on the
  // device (no host synchronisation).
  void unscale_and_check(const std::vector<at::Tensor>& grads);
  // float32 [1] on the scaler's device: 1 after unscale_and_check saw a non-finite gradient.
  const at::Tensor& found_inf() const { return found_inf_; }
  // float32 [1] on the scaler's device: the current scale.
  const at::Tensor& scale_tensor() const { return scale_; }
  // After a step (taken or skipped): halves the scale on overflow, doubles it after
  // growth_interval finite steps.
  void update();

  bool enabled() const { return enabled_; }
  double scale() const;             // reads the device value (synchronises)
  int64_t growth_tracker() const;   // idem
  // For checkpoints: {scale, growth_tracker} as tensors.
  std::vector<at::Tensor> state() const { return {scale_, growth_tracker_}; }
  void load_state(const std::vector<at::Tensor>& state);

 private:
  bool enabled_;
  double growth_factor_, backoff_factor_;
  int64_t growth_interval_;
  at::Tensor scale_;           // float32 [1]
  at::Tensor growth_tracker_;  // int32 [1]
  at::Tensor found_inf_;       // float32 [1]
};

}  // namespace wildreid::trainer
