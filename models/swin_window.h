// Window helpers of the Swin Transformer, as free functions on NHWC tensors so the attention, the
// block and the tests share one definition. Everything here is computed, never loaded: timm >= 0.9
// keeps relative_position_index and attn_mask as non-persistent buffers, and the old files that do
// persist them are checked against these (models/swin_legacy_layout.cpp).
#pragma once
#include <ATen/ATen.h>

#include <cstdint>

namespace wildreid::models {

// Window and shift of one block, after timm's _calc_window_shift: a stage no larger than the
// window uses one window covering it (clamped) and no shift.
struct SwinWindowPlan {
  int64_t window_h = 0, window_w = 0;
  int64_t shift_h = 0, shift_w = 0;
  bool shifted() const { return shift_h != 0 || shift_w != 0; }
  int64_t area() const { return window_h * window_w; }
};
SwinWindowPlan swin_window_plan(int64_t res_h, int64_t res_w, int64_t target_window, bool shifted_block);

// [B, H, W, C] -> [B * nW, wh, ww, C]; H and W must be multiples of the window.
at::Tensor swin_window_partition(const at::Tensor& x, int64_t wh, int64_t ww);
// Inverse of swin_window_partition back to [B, H, W, C].
at::Tensor swin_window_reverse(const at::Tensor& windows, int64_t wh, int64_t ww, int64_t h, int64_t w);

// [wh*ww, wh*ww] int64 index into the ((2wh-1)*(2ww-1), heads) bias table; query minus key.
at::Tensor swin_relative_position_index(int64_t wh, int64_t ww);

// Shifted-window attention mask [nW, N, N] (float32): 0 within a region, -100 across regions,
// for a feature map of h x w padded up to whole windows. Undefined tensor when the plan has no shift.
at::Tensor swin_shifted_window_mask(int64_t h, int64_t w, const SwinWindowPlan& plan);

}  // namespace wildreid::models
