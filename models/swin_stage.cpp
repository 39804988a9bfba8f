// See swin_stage.h. `blocks` is a plain Module with children "0", "1", ... so that names match
// timm's nn.Sequential indices.
#include "models/swin_stage.h"

#include <stdexcept>
#include <string>

#include "models/activation_checkpoint.h"

namespace wildreid::models {

SwinStageImpl::SwinStageImpl(const SwinStageOptions& o)
    : out_res_h_(o.downsample ? o.in_res_h / 2 : o.in_res_h), out_res_w_(o.downsample ? o.in_res_w / 2 : o.in_res_w) {
  if (o.downsample) {
    downsample_ = register_module("downsample", SwinPatchMerging(o.in_dim, o.out_dim));
  } else if (o.in_dim != o.out_dim) {
    throw std::invalid_argument("swin: a stage without downsampling must keep its width");
  }
  auto blocks = register_module("blocks", std::make_shared<torch::nn::Module>());
  for (int64_t i = 0; i < o.depth; ++i) {
    SwinBlockOptions b;
    b.dim = o.out_dim;
    b.num_heads = o.num_heads;
    b.res_h = out_res_h_;
    b.res_w = out_res_w_;
    b.window = o.window;
    b.shifted = i % 2 == 1;
    b.mlp_ratio = o.mlp_ratio;
    b.qkv_bias = o.qkv_bias;
    b.drop_path = static_cast<size_t>(i) < o.drop_path.size() ? o.drop_path[i] : 0.0;
    blocks_.push_back(blocks->register_module(std::to_string(i), SwinBlock(b)));
  }
}

at::Tensor SwinStageImpl::forward(const at::Tensor& input) {
  at::Tensor x = downsample_ ? downsample_->forward(input) : input;
  return run_blocks(blocks_, x, grad_checkpointing && is_training());
}

}  // namespace wildreid::models
