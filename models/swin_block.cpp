// See swin_block.h. Order of operations follows timm's SwinTransformerBlock._attn exactly: cyclic
// shift, pad to whole windows, partition, attend, reverse, crop, shift back.
#include "models/swin_block.h"

#include <ATen/ATen.h>

namespace wildreid::models {

SwinBlockImpl::SwinBlockImpl(const SwinBlockOptions& options)
    : options_(options),
      plan_(swin_window_plan(options.res_h, options.res_w, options.window, options.shifted)) {
  norm1 = register_module("norm1", LayerNorm(options.dim, 1e-5));
  attn = register_module("attn", SwinWindowAttention(options.dim, options.num_heads, plan_.window_h,
                                                     plan_.window_w, options.qkv_bias));
  norm2 = register_module("norm2", LayerNorm(options.dim, 1e-5));
  const auto hidden = static_cast<int64_t>(static_cast<double>(options.dim) * options.mlp_ratio);
  mlp = register_module("mlp", Mlp(options.dim, hidden, options.dim));
  attn_mask_ = swin_shifted_window_mask(options.res_h, options.res_w, plan_);
}

at::Tensor SwinBlockImpl::window_attention(const at::Tensor& x) {
  const int64_t h = x.size(1), w = x.size(2), c = x.size(3);
  const int64_t wh = plan_.window_h, ww = plan_.window_w;
  at::Tensor shifted = plan_.shifted() ? at::roll(x, {-plan_.shift_h, -plan_.shift_w}, {1, 2}) : x;
  const int64_t pad_h = (wh - h % wh) % wh, pad_w = (ww - w % ww) % ww;
  if (pad_h || pad_w) shifted = at::constant_pad_nd(shifted, {0, 0, 0, pad_w, 0, pad_h});
  const int64_t hp = shifted.size(1), wp = shifted.size(2);

  auto windows = swin_window_partition(shifted, wh, ww).view({-1, plan_.area(), c});
  if (attn_mask_.defined() && attn_mask_.device() != x.device()) attn_mask_ = attn_mask_.to(x.device());
  auto attended = attn->forward(windows, attn_mask_).view({-1, wh, ww, c});
  shifted = swin_window_reverse(attended, wh, ww, hp, wp);
  if (pad_h || pad_w) shifted = shifted.slice(1, 0, h).slice(2, 0, w).contiguous();
  return plan_.shifted() ? at::roll(shifted, {plan_.shift_h, plan_.shift_w}, {1, 2}) : shifted;
}

at::Tensor SwinBlockImpl::forward(const at::Tensor& x) {
  const int64_t b = x.size(0), h = x.size(1), w = x.size(2), c = x.size(3);
  auto y = x + drop_path(window_attention(norm1->forward(x)), options_.drop_path, is_training());
  y = y.reshape({b, -1, c});
  y = y + drop_path(mlp->forward(norm2->forward(y)), options_.drop_path, is_training());
  return y.reshape({b, h, w, c});
}

}  // namespace wildreid::models
