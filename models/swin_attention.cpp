// See swin_attention.h. The bias (and the shift mask, when given) go into one additive attention
// mask for scaled_dot_product_attention, as timm's fused path does; the default SDPA scale equals
// timm's head_dim^-0.5.
#include "models/swin_attention.h"

#include <ATen/ATen.h>

#include <stdexcept>
#include <string>

#include "models/swin_window.h"

namespace wildreid::models {

SwinWindowAttentionImpl::SwinWindowAttentionImpl(int64_t dim, int64_t num_heads, int64_t window_h,
                                                 int64_t window_w, bool qkv_bias)
    : num_heads_(num_heads), window_area_(window_h * window_w) {
  if (num_heads <= 0 || dim % num_heads != 0)
    throw std::invalid_argument("swin: dim " + std::to_string(dim) + " is not divisible by " +
                                std::to_string(num_heads) + " heads");
  qkv = register_module("qkv", Linear(dim, dim * 3, qkv_bias));
  proj = register_module("proj", Linear(dim, dim));
  relative_position_bias_table = register_parameter(
      "relative_position_bias_table", at::zeros({(2 * window_h - 1) * (2 * window_w - 1), num_heads}));
  relative_position_index_ = swin_relative_position_index(window_h, window_w);
}

at::Tensor SwinWindowAttentionImpl::relative_position_bias() {
  if (relative_position_index_.device() != relative_position_bias_table.device())
    relative_position_index_ = relative_position_index_.to(relative_position_bias_table.device());
  auto bias = relative_position_bias_table.index_select(0, relative_position_index_.view(-1));
  return bias.view({window_area_, window_area_, num_heads_}).permute({2, 0, 1}).unsqueeze(0);
}

at::Tensor SwinWindowAttentionImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  const int64_t b = x.size(0), n = x.size(1), c = x.size(2);
  auto qkv_out = qkv->forward(x).reshape({b, n, 3, num_heads_, -1}).permute({2, 0, 3, 1, 4});
  auto q = qkv_out[0], k = qkv_out[1], v = qkv_out[2];
  at::Tensor bias = relative_position_bias();  // [1, heads, N, N]
  at::Tensor out;
  if (mask.defined()) {
    // Fold windows into the head dimension so the [nW, heads, N, N] bias+mask broadcasts over the
    // batch instead of being materialised per image (timm expands it to [B*nW, heads, N, N]).
    const int64_t num_windows = mask.size(0), hd = q.size(3);
    auto attn_mask = (bias + mask.to(bias.scalar_type()).view({num_windows, 1, n, n}))
                         .reshape({1, num_windows * num_heads_, n, n});
    auto fold = [&](const at::Tensor& t) { return t.reshape({b / num_windows, num_windows * num_heads_, n, hd}); };
    out = at::scaled_dot_product_attention(fold(q), fold(k), fold(v), attn_mask.to(q.scalar_type()))
              .reshape({b, num_heads_, n, hd});
  } else {
    out = at::scaled_dot_product_attention(q, k, v, bias.to(q.scalar_type()));
  }
  return proj->forward(out.transpose(1, 2).reshape({b, n, c}));
}

}  // namespace wildreid::models
