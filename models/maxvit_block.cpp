// See maxvit_block.h.
#include "models/maxvit_block.h"

#include <string>

#include "models/activation_checkpoint.h"

namespace wildreid::models {

MaxVitBlockImpl::MaxVitBlockImpl(const MaxVitConfig& c, int64_t in, int64_t out, int64_t stride, double drop_path) {
  conv_ = register_module("conv", MaxVitMbConv(MaxVitMbConvOptions{.in = in, .out = out, .stride = stride,
                                                                   .expand_ratio = c.conv_expand_ratio,
                                                                   .se_ratio = c.se_ratio,
                                                                   .norm_eps = c.conv_norm_eps,
                                                                   .drop_path = drop_path}));
  MaxVitPartitionAttentionOptions a{.dim = out, .kind = MaxVitPartition::kBlock, .partition = c.window(),
                                    .dim_head = c.dim_head, .mlp_ratio = c.mlp_ratio,
                                    .norm_eps = c.transformer_norm_eps, .drop_path = drop_path};
  attn_block_ = register_module("attn_block", MaxVitPartitionAttention(a));
  a.kind = MaxVitPartition::kGrid;
  attn_grid_ = register_module("attn_grid", MaxVitPartitionAttention(a));
}

at::Tensor MaxVitBlockImpl::forward(const at::Tensor& input) {
  at::Tensor x = conv_->forward(input).permute({0, 2, 3, 1});
  x = attn_grid_->forward(attn_block_->forward(x));
  return x.permute({0, 3, 1, 2});
}

MaxVitStageImpl::MaxVitStageImpl(const MaxVitConfig& c, int64_t in, int64_t out, int64_t depth,
                                 const std::vector<double>& drop_path) {
  auto blocks = register_module("blocks", std::make_shared<torch::nn::Module>());
  for (int64_t i = 0; i < depth; ++i) {
    const double dp = static_cast<size_t>(i) < drop_path.size() ? drop_path[i] : 0.0;
    blocks_.push_back(blocks->register_module(std::to_string(i), MaxVitBlock(c, i == 0 ? in : out, out, i == 0 ? 2 : 1, dp)));
  }
}

at::Tensor MaxVitStageImpl::forward(const at::Tensor& input) {
  at::Tensor x = input;
  return run_blocks(blocks_, x, grad_checkpointing && is_training());
}

}  // namespace wildreid::models
