// See swin_window.h. Written against timm/models/swin_transformer.py (window_partition,
// window_reverse, get_relative_position_index, SwinTransformerBlock.get_attn_mask).
#include "models/swin_window.h"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>

namespace wildreid::models {

SwinWindowPlan swin_window_plan(int64_t res_h, int64_t res_w, int64_t target_window, bool shifted_block) {
  if (target_window <= 0) throw std::invalid_argument("swin: window size must be positive");
  const int64_t target_shift = shifted_block ? target_window / 2 : 0;
  SwinWindowPlan plan;
  plan.window_h = res_h <= target_window ? res_h : target_window;
  plan.window_w = res_w <= target_window ? res_w : target_window;
  plan.shift_h = res_h <= plan.window_h ? 0 : target_shift;
  plan.shift_w = res_w <= plan.window_w ? 0 : target_shift;
  return plan;
}

at::Tensor swin_window_partition(const at::Tensor& x, int64_t wh, int64_t ww) {
  const int64_t b = x.size(0), h = x.size(1), w = x.size(2), c = x.size(3);
  return x.view({b, h / wh, wh, w / ww, ww, c}).permute({0, 1, 3, 2, 4, 5}).contiguous().view({-1, wh, ww, c});
}

at::Tensor swin_window_reverse(const at::Tensor& windows, int64_t wh, int64_t ww, int64_t h, int64_t w) {
  const int64_t c = windows.size(-1);
  return windows.view({-1, h / wh, w / ww, wh, ww, c}).permute({0, 1, 3, 2, 4, 5}).contiguous().view({-1, h, w, c});
}

at::Tensor swin_relative_position_index(int64_t wh, int64_t ww) {
  const int64_t n = wh * ww;
  auto index = at::empty({n, n}, at::kLong);
  auto* out = index.data_ptr<int64_t>();
  for (int64_t q = 0; q < n; ++q) {
    for (int64_t k = 0; k < n; ++k) {
      const int64_t dh = q / ww - k / ww + wh - 1;
      const int64_t dw = q % ww - k % ww + ww - 1;
      out[q * n + k] = dh * (2 * ww - 1) + dw;
    }
  }
  return index;
}

at::Tensor swin_shifted_window_mask(int64_t h, int64_t w, const SwinWindowPlan& plan) {
  if (!plan.shifted()) return {};
  const int64_t wh = plan.window_h, ww = plan.window_w;
  const int64_t hp = (h + wh - 1) / wh * wh, wp = (w + ww - 1) / ww * ww;
  // Region id per pixel: three bands per axis, [0, -window), [-window, -shift), [-shift, end).
  // An unshifted axis is one band (timm's slice [-0:] covers it whole), as for non-square maps.
  auto band = [](int64_t i, int64_t size, int64_t window, int64_t shift) -> int64_t {
    if (shift == 0) return 2;
    if (i < size - window) return 0;
    if (i < size - shift) return 1;
    return 2;
  };
  auto img = at::empty({1, hp, wp, 1}, at::kFloat);
  auto* region = img.data_ptr<float>();
  for (int64_t i = 0; i < hp; ++i)
    for (int64_t j = 0; j < wp; ++j)
      region[i * wp + j] = static_cast<float>(band(i, hp, wh, plan.shift_h) * 3 + band(j, wp, ww, plan.shift_w));
  auto windows = swin_window_partition(img, wh, ww).view({-1, plan.area()});
  auto diff = windows.unsqueeze(1) - windows.unsqueeze(2);
  return at::where(diff != 0, at::full({}, -100.0f), at::zeros({}, at::kFloat));
}

}  // namespace wildreid::models
