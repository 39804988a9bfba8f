// See amp.h. The autocast scope mirrors torch.autocast's __enter__/__exit__ (set enabled + dtype,
// bump the nesting count, clear the cast cache when the outermost scope exits).
#include "trainer/amp.h"

#include <ATen/autocast_mode.h>

namespace wildreid::trainer {

AutocastScope::AutocastScope(AmpMode mode, at::DeviceType device) : device_(device) {
  if (mode == AmpMode::kOff) return;
  active_ = true;
  prev_enabled_ = at::autocast::is_autocast_enabled(device);
  prev_dtype_ = at::autocast::get_autocast_dtype(device);
  at::autocast::set_autocast_enabled(device, true);
  at::autocast::set_autocast_dtype(device, mode == AmpMode::kBf16 ? at::kBFloat16 : at::kHalf);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(device_, prev_enabled_);
  at::autocast::set_autocast_dtype(device_, prev_dtype_);
}

GradScaler::GradScaler(bool enabled, double init_scale, int64_t growth_interval, at::Device device,
                       double growth_factor, double backoff_factor)
    : enabled_(enabled),
      growth_factor_(growth_factor),
      backoff_factor_(backoff_factor),
      growth_interval_(growth_interval) {
  auto f32 = at::TensorOptions().dtype(at::kFloat).device(device);
  scale_ = at::full({1}, enabled ? init_scale : 1.0, f32);
  growth_tracker_ = at::zeros({1}, f32.dtype(at::kInt));
  found_inf_ = at::zeros({1}, f32);
}

at::Tensor GradScaler::scale_loss(const at::Tensor& loss) const {
  if (!enabled_) return loss;
  return loss * scale_.to(loss.dtype()).squeeze();
}

void GradScaler::unscale_and_check(const std::vector<at::Tensor>& grads) {
  found_inf_.zero_();
  // _amp_foreach_non_finite_check_and_unscale_ wants every tensor on the scale's device and one
  // dtype per call on CUDA; group by dtype to be safe.
  std::vector<at::Tensor> by_dtype[3];
  for (const auto& g : grads) {
    if (!g.defined()) continue;
    int slot = g.scalar_type() == at::kFloat ? 0 : g.scalar_type() == at::kHalf ? 1 : 2;
    by_dtype[slot].push_back(g);
  }
  const at::Tensor inv_scale = scale_.to(at::kDouble).reciprocal().to(at::kFloat);
  for (auto& group : by_dtype)
    if (!group.empty()) at::_amp_foreach_non_finite_check_and_unscale_(group, found_inf_, inv_scale);
}

void GradScaler::update() {
  if (!enabled_) return;
  at::_amp_update_scale_(scale_, growth_tracker_, found_inf_, growth_factor_, backoff_factor_,
                         growth_interval_);
}

double GradScaler::scale() const { return scale_.item<float>(); }
int64_t GradScaler::growth_tracker() const { return growth_tracker_.item<int>(); }

void GradScaler::load_state(const std::vector<at::Tensor>& state) {
  TORCH_CHECK(state.size() == 2, "loss scaler state: expected 2 tensors, got ", state.size());
  scale_.copy_(state[0]);
  growth_tracker_.copy_(state[1]);
}

}  // namespace wildreid::trainer
