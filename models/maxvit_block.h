// One MaxViT block (timm's MaxxVitBlock, type 'M'): MBConv on NCHW (`conv`), then block attention
// (`attn_block`) and grid attention (`attn_grid`) channels-last, back to NCHW. A stage is a list of
// these under `blocks`, the first with stride 2; each block can be activation-checkpointed.
#pragma once
#include <torch/nn/module.h>

#include <vector>

#include "models/maxvit_config.h"
#include "models/maxvit_mbconv.h"
#include "models/maxvit_partition_attention.h"

namespace wildreid::models {

class MaxVitBlockImpl : public torch::nn::Module {
 public:
  MaxVitBlockImpl(const MaxVitConfig& config, int64_t in, int64_t out, int64_t stride, double drop_path);
  at::Tensor forward(const at::Tensor& x);  // NCHW -> NCHW

 private:
  MaxVitMbConv conv_{nullptr};
  MaxVitPartitionAttention attn_block_{nullptr}, attn_grid_{nullptr};
};
TORCH_MODULE(MaxVitBlock);

class MaxVitStageImpl : public torch::nn::Module {
 public:
  MaxVitStageImpl(const MaxVitConfig& config, int64_t in, int64_t out, int64_t depth, const std::vector<double>& drop_path);
  at::Tensor forward(const at::Tensor& x);
  bool grad_checkpointing = false;

 private:
  std::vector<MaxVitBlock> blocks_;
};
TORCH_MODULE(MaxVitStage);

}  // namespace wildreid::models
