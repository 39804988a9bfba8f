// MaxViT's block (window) and grid attention, channels-last (timm's PartitionAttentionCl with
// AttentionCl, head_first=False for the `_tf_` weights: qkv channels are [3][heads][dim_head]):
//   x = x + drop_path(attn(partition(norm1(x)))), x = x + drop_path(mlp(norm2(x))),
// where `block` partitions into non-overlapping windows and `grid` into a strided grid of the same
// size. Parameter names: norm1, attn.{qkv,proj,rel_pos.relative_position_bias_table}, norm2, mlp.{fc1,fc2}.
#pragma once
#include <torch/nn/module.h>

#include "models/layers.h"
#include "models/maxvit_rel_pos_bias.h"

namespace wildreid::models {

enum class MaxVitPartition { kBlock, kGrid };

// [B, H, W, C] -> [B * n, p, p, C] and back, for either partition.
at::Tensor maxvit_partition(const at::Tensor& x, MaxVitPartition kind, int64_t p);
at::Tensor maxvit_unpartition(const at::Tensor& parts, MaxVitPartition kind, int64_t p, int64_t h, int64_t w);

class MaxVitAttentionImpl : public torch::nn::Module {
 public:
  MaxVitAttentionImpl(int64_t dim, int64_t dim_head, int64_t window);
  at::Tensor forward(const at::Tensor& x);  // [B', p, p, C] -> same

  Linear qkv{nullptr}, proj{nullptr};
  MaxVitRelPosBias rel_pos{nullptr};

 private:
  int64_t num_heads_, dim_head_;
};
TORCH_MODULE(MaxVitAttention);

struct MaxVitPartitionAttentionOptions {
  int64_t dim = 64;
  MaxVitPartition kind = MaxVitPartition::kBlock;
  int64_t partition = 7;      // window (block) or grid size
  int64_t dim_head = 32;
  double mlp_ratio = 4.0;
  double norm_eps = 1e-5;
  double drop_path = 0.0;
};

class MaxVitPartitionAttentionImpl : public torch::nn::Module {
 public:
  explicit MaxVitPartitionAttentionImpl(const MaxVitPartitionAttentionOptions& options);
  at::Tensor forward(const at::Tensor& x);  // [B, H, W, C] -> same

 private:
  MaxVitPartitionAttentionOptions options_;
  LayerNorm norm1_{nullptr}, norm2_{nullptr};
  MaxVitAttention attn_{nullptr};
  Linear fc1_{nullptr}, fc2_{nullptr};  // mlp.fc1 / mlp.fc2 with gelu_tanh between
};
TORCH_MODULE(MaxVitPartitionAttention);

}  // namespace wildreid::models
