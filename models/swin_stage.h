// One Swin stage in timm's current (>= 0.9) layout: `downsample` (PatchMerging) at the START of
// stages 1..3, then `blocks`, alternating unshifted and shifted windows. Each block can be
// activation-checkpointed (models/activation_checkpoint.h).
#pragma once
#include <torch/nn/module.h>

#include <vector>

#include "models/swin_block.h"
#include "models/swin_patch_merging.h"

namespace wildreid::models {

struct SwinStageOptions {
  int64_t in_dim = 96, out_dim = 96;
  int64_t in_res_h = 56, in_res_w = 56;  // resolution entering the stage (before downsampling)
  int64_t depth = 2;
  bool downsample = false;
  int64_t num_heads = 3;
  int64_t window = 7;
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  std::vector<double> drop_path;  // one per block (missing = 0)
};

class SwinStageImpl : public torch::nn::Module {
 public:
  explicit SwinStageImpl(const SwinStageOptions& options);
  at::Tensor forward(const at::Tensor& x);
  int64_t out_res_h() const { return out_res_h_; }
  int64_t out_res_w() const { return out_res_w_; }
  const std::vector<SwinBlock>& blocks() const { return blocks_; }
  bool grad_checkpointing = false;

 private:
  SwinPatchMerging downsample_{nullptr};  // registered only in stages that downsample
  std::vector<SwinBlock> blocks_;
  int64_t out_res_h_, out_res_w_;
};
TORCH_MODULE(SwinStage);

}  // namespace wildreid::models
