// See swin_attention.h. The bias (and the shift mask, when given) go into one additive attention
// mask. Without autograd it goes to scaled_dot_product_attention (the default SDPA scale equals
// timm's head_dim^-0.5); while gradients are recorded that call falls back to its math path, whose
// -inf guards (all/where/isneginf) and backward fills cost more than the attention itself at 7x7
// windows, so training spells the product out as timm's non-fused path does (q * scale, q k^T +
// bias + mask, softmax, times v), on q, k, v made contiguous by one permute (as MaxViT's attention).
#include "models/swin_attention.h"

#include <ATen/ATen.h>

#include <cmath>

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
  auto qkv_out = qkv->forward(x).reshape({b, n, 3, num_heads_, -1});  // [B, N, 3, heads, d]
  const int64_t hd = qkv_out.size(4);
  const bool recording = at::GradMode::is_enabled();
  // unbind of a contiguous permute (not select): its backward stacks the three gradients instead
  // of zero-filling a qkv-sized tensor per operand and summing them.
  auto heads = recording ? qkv_out.permute({2, 0, 3, 1, 4}).contiguous().unbind(0)
                         : qkv_out.permute({2, 0, 3, 1, 4}).unbind(0);
  at::Tensor q = heads[0], k = heads[1], v = heads[2];  // [B, heads, N, d]
  at::Tensor attn_mask = relative_position_bias();      // [1, heads, N, N]
  int64_t groups = b, group_heads = num_heads_;
  if (mask.defined()) {
    // Fold windows into the head dimension so the [nW, heads, N, N] bias+mask broadcasts over the
    // batch instead of being materialised per image (timm expands it to [B*nW, heads, N, N]).
    const int64_t num_windows = mask.size(0);
    attn_mask = (attn_mask + mask.to(attn_mask.scalar_type()).view({num_windows, 1, n, n}))
                    .reshape({1, num_windows * num_heads_, n, n});
    groups = b / num_windows;
    group_heads = num_windows * num_heads_;
  }
  auto fold = [&](const at::Tensor& t) { return t.reshape({groups, group_heads, n, hd}); };
  attn_mask = attn_mask.to(q.scalar_type());
  at::Tensor out;
  if (recording) {
    const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
    auto attn = at::matmul(fold(q) * scale, fold(k).transpose(-2, -1)) + attn_mask;
    out = at::matmul(at::softmax(attn, -1), fold(v));
  } else {
    out = at::scaled_dot_product_attention(fold(q), fold(k), fold(v), attn_mask);
  }
  return proj->forward(out.reshape({b, num_heads_, n, hd}).transpose(1, 2).reshape({b, n, c}));
}

}  // namespace wildreid::models
