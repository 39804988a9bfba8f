// See swin_transformer.h. Stage construction mirrors timm's SwinTransformer.__init__: stage i has
// embed_dim * 2^i channels; stage 0 keeps the patch grid, stages 1.. halve it in their downsample.
#include "models/swin_transformer.h"

#include <ATen/ATen.h>

#include <stdexcept>
#include <string>

#include "models/swin_legacy_layout.h"
#include "models/timm_init.h"

namespace wildreid::models {

SwinTransformer::SwinTransformer(const ModelSpec& spec, const SwinConfig& config, const ModelOptions& options)
    : config_(config) {
  const size_t num_stages = config.depths.size();
  if (num_stages == 0 || config.num_heads.size() != num_stages)
    throw std::invalid_argument("model '" + spec.name + "': depths and num_heads must have the same, non-zero length");
  if (config.patch_size <= 0 || config.img_size % config.patch_size != 0)
    throw std::invalid_argument("model '" + spec.name + "': img_size " + std::to_string(config.img_size) +
                                " is not a multiple of patch_size " + std::to_string(config.patch_size));
  spec_ = spec;
  spec_.input_size = config.img_size;
  spec_.embed_dim = config.num_features();

  auto patch_embed = register_module("patch_embed", std::make_shared<torch::nn::Module>());
  patch_proj_ = patch_embed->register_module(
      "proj", Conv2d(Conv2dArgs{.in = config.in_chans, .out = config.embed_dim, .kernel = config.patch_size,
                                .stride = config.patch_size}));
  patch_norm_ = patch_embed->register_module("norm", LayerNorm(config.embed_dim, 1e-5));

  auto layers = register_module("layers", std::make_shared<torch::nn::Module>());
  const auto rates = drop_path_rates(options.drop_path_rate, config.depths);
  int64_t res = config.img_size / config.patch_size;
  int64_t in_dim = config.embed_dim;
  for (size_t i = 0; i < num_stages; ++i) {
    SwinStageOptions s;
    s.in_dim = in_dim;
    s.out_dim = config.embed_dim << i;
    s.in_res_h = s.in_res_w = res;
    s.depth = config.depths[i];
    s.downsample = i > 0;
    s.num_heads = config.num_heads[i];
    s.window = config.window_size;
    s.mlp_ratio = config.mlp_ratio;
    s.qkv_bias = config.qkv_bias;
    s.drop_path = rates[i];
    stages_.push_back(layers->register_module(std::to_string(i), SwinStage(s)));
    res = stages_.back()->out_res_h();
    in_dim = s.out_dim;
  }
  norm_ = register_module("norm", LayerNorm(config.num_features(), 1e-5));
  head_ = register_module("head", std::make_shared<torch::nn::Module>());
  spec_.num_classes = options.num_classes;
  if (options.num_classes > 0) head_fc_ = head_->register_module("fc", Linear(config.num_features(), options.num_classes));
  set_grad_checkpointing(options.grad_checkpointing);
}

at::Tensor SwinTransformer::forward_features(const at::Tensor& input) {
  if (input.dim() != 4 || input.size(1) != config_.in_chans || input.size(2) != config_.img_size ||
      input.size(3) != config_.img_size)
    throw std::invalid_argument("model '" + spec_.name + "': input of shape " + c10::str(input.sizes()) +
                                " does not match [B, " + std::to_string(config_.in_chans) + ", " +
                                std::to_string(config_.img_size) + ", " + std::to_string(config_.img_size) + "]");
  at::Tensor x = patch_norm_->forward(patch_proj_->forward(input).permute({0, 2, 3, 1}));
  for (auto& stage : stages_) x = stage->forward(x);
  return norm_->forward(x);
}

at::Tensor SwinTransformer::forward_embedding(const at::Tensor& features) { return features.mean({1, 2}); }

at::Tensor SwinTransformer::forward_classifier(const at::Tensor& embedding) {
  return head_fc_ ? head_fc_->forward(embedding) : embedding;
}

void SwinTransformer::reset_classifier(int64_t num_classes) {
  if (num_classes < 0) throw std::invalid_argument("model '" + spec_.name + "': num_classes must be >= 0");
  if (head_fc_) head_->unregister_module("fc");
  head_fc_ = nullptr;
  spec_.num_classes = num_classes;
  if (num_classes == 0) return;
  head_fc_ = head_->register_module("fc", Linear(config_.num_features(), num_classes));
  timm_init::trunc_normal_zero_bias(timm_init::linear_layer("head.fc", head_fc_->weight, head_fc_->bias));
  head_fc_->to(norm_->weight.device(), norm_->weight.scalar_type());
}

// timm's SwinTransformer.init_weights(''): init_weights_vit_timm on every Linear (trunc-normal .02,
// zero bias, the head included), relative-position tables trunc-normal(.02) (WindowAttention's own
// init); the patch-embedding Conv2d and the LayerNorms keep PyTorch's defaults.
void SwinTransformer::init_weights() {
  at::NoGradGuard no_grad;
  timm_init::ParallelInit parallel;
  for (const auto& layer : timm_init::layers(*this)) {
    if (layer.conv) timm_init::torch_default(layer);
    else timm_init::trunc_normal_zero_bias(layer);
  }
  timm_init::reset_layer_norms(*this);
  for (auto& stage : stages_)
    for (auto& block : stage->blocks()) timm_init::trunc_normal(block->attn->relative_position_bias_table, 0.02);
  parallel.run();
}

void SwinTransformer::set_grad_checkpointing(bool enabled) {
  for (auto& stage : stages_) stage->grad_checkpointing = enabled;
}

std::map<std::string, at::Tensor> SwinTransformer::adapt_checkpoint(std::map<std::string, at::Tensor> tensors) const {
  return swin_drop_persisted_buffers(swin_convert_legacy_layout(std::move(tensors)), *this);
}

}  // namespace wildreid::models
