// See maxvit_partition_attention.h. Partitions follow timm's window_partition/grid_partition and
// their reverses. Without autograd, attention runs through scaled_dot_product_attention with the
// relative position bias as additive mask (the default scale equals timm's dim_head^-0.5: its CPU
// flash kernel). When gradients are recorded that call falls back to its math path, whose -inf
// guards, twice-scaled q/k and per-operand copies cost more than the attention itself at 7x7
// windows, so training spells the same product out as timm's non-fused path does (q * scale,
// q k^T + bias, softmax, times v) on q, k, v made contiguous by one permute of the qkv output.
#include "models/maxvit_partition_attention.h"

#include <ATen/ATen.h>

#include <cmath>

#include <stdexcept>
#include <string>

namespace wildreid::models {

at::Tensor maxvit_partition(const at::Tensor& x, MaxVitPartition kind, int64_t p) {
  const int64_t b = x.size(0), h = x.size(1), w = x.size(2), c = x.size(3);
  if (h % p != 0 || w % p != 0)
    throw std::invalid_argument("maxvit: feature map " + std::to_string(h) + "x" + std::to_string(w) +
                                " is not divisible by the partition size " + std::to_string(p));
  if (kind == MaxVitPartition::kBlock)
    return x.view({b, h / p, p, w / p, p, c}).permute({0, 1, 3, 2, 4, 5}).contiguous().view({-1, p, p, c});
  return x.view({b, p, h / p, p, w / p, c}).permute({0, 2, 4, 1, 3, 5}).contiguous().view({-1, p, p, c});
}

at::Tensor maxvit_unpartition(const at::Tensor& parts, MaxVitPartition kind, int64_t p, int64_t h, int64_t w) {
  const int64_t c = parts.size(-1);
  auto x = parts.view({-1, h / p, w / p, p, p, c});
  x = kind == MaxVitPartition::kBlock ? x.permute({0, 1, 3, 2, 4, 5}) : x.permute({0, 3, 1, 4, 2, 5});
  return x.contiguous().view({-1, h, w, c});
}

MaxVitAttentionImpl::MaxVitAttentionImpl(int64_t dim, int64_t dim_head, int64_t window) : dim_head_(dim_head) {
  if (dim_head <= 0 || dim % dim_head != 0)
    throw std::invalid_argument("maxvit: attention width " + std::to_string(dim) +
                                " is not divisible by dim_head " + std::to_string(dim_head));
  num_heads_ = dim / dim_head;
  qkv = register_module("qkv", Linear(dim, 3 * dim));
  rel_pos = register_module("rel_pos", MaxVitRelPosBias(window, window, num_heads_));
  proj = register_module("proj", Linear(dim, dim));
}

at::Tensor MaxVitAttentionImpl::forward(const at::Tensor& x) {
  const int64_t b = x.size(0);
  auto qkv_out = qkv->forward(x).reshape({b, -1, 3, num_heads_, dim_head_});  // [B, N, 3, heads, d]
  auto bias = rel_pos->bias().to(qkv_out.scalar_type());                     // [heads, N, N]
  at::Tensor out;                                                            // [B, heads, N, d]
  if (at::GradMode::is_enabled()) {
    // unbind (not select): its backward stacks the three gradients instead of zero-filling a
    // qkv-sized tensor per operand and summing them.
    auto qkv_heads = qkv_out.permute({2, 0, 3, 1, 4}).contiguous().unbind(0);
    const double scale = 1.0 / std::sqrt(static_cast<double>(dim_head_));
    auto attn = at::matmul(qkv_heads[0] * scale, qkv_heads[1].transpose(-2, -1)) + bias;
    out = at::matmul(at::softmax(attn, -1), qkv_heads[2]);
  } else {
    auto qkv_heads = qkv_out.transpose(1, 3).unbind(2);
    out = at::scaled_dot_product_attention(qkv_heads[0], qkv_heads[1], qkv_heads[2], bias);
  }
  auto shape = x.sizes().vec();
  shape.back() = -1;
  return proj->forward(out.transpose(1, 2).reshape(shape));
}

MaxVitPartitionAttentionImpl::MaxVitPartitionAttentionImpl(const MaxVitPartitionAttentionOptions& o) : options_(o) {
  norm1_ = register_module("norm1", LayerNorm(o.dim, o.norm_eps));
  attn_ = register_module("attn", MaxVitAttention(o.dim, o.dim_head, o.partition));
  norm2_ = register_module("norm2", LayerNorm(o.dim, o.norm_eps));
  auto mlp = register_module("mlp", std::make_shared<torch::nn::Module>());
  const auto hidden = static_cast<int64_t>(static_cast<double>(o.dim) * o.mlp_ratio);
  fc1_ = mlp->register_module("fc1", Linear(o.dim, hidden));
  fc2_ = mlp->register_module("fc2", Linear(hidden, o.dim));
}

// Both residual branches run on the partitioned tokens (layer norm, MLP and the residual sums act
// per token, so only the order of the rows changes): one contiguous copy in, one out, instead of a
// partition and a reverse around attention alone plus the layer norms' copies of the strided
// channels-last view. Partitions keep each image's windows together ([B, windows, ...]), so drop
// path still draws one mask per image.
at::Tensor MaxVitPartitionAttentionImpl::forward(const at::Tensor& x) {
  const int64_t b = x.size(0), h = x.size(1), w = x.size(2);
  const bool training = is_training();
  auto per_image_drop = [&](const at::Tensor& t) {
    if (options_.drop_path <= 0.0 || !training) return t;
    return drop_path(t.reshape({b, -1}), options_.drop_path, training).view(t.sizes());
  };
  auto parts = maxvit_partition(x, options_.kind, options_.partition);
  auto y = parts + per_image_drop(attn_->forward(norm1_->forward(parts)));
  y = y + per_image_drop(fc2_->forward(at::gelu(fc1_->forward(norm2_->forward(y)), "tanh")));
  return maxvit_unpartition(y, options_.kind, options_.partition, h, w);
}

}  // namespace wildreid::models
