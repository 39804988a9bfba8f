// ViT forward and registration (see vit.h). Attention uses at::scaled_dot_product_attention, the
// same fused kernel timm selects, so fp32 CPU outputs agree to ~1e-6.
#include "models/vit.h"

#include <ATen/ATen.h>

#include <cmath>

#include "models/activation_checkpoint.h"
#include "models/arch_overrides.h"
#include "models/registry.h"
#include "models/timm_init.h"

namespace wildreid::models {

ViTBlockImpl::ViTBlockImpl(const ViTConfig& c, double drop_path)
    : num_heads_(c.num_heads), drop_path_(drop_path) {
  norm1_ = register_module("norm1", LayerNorm(c.embed_dim, 1e-6));
  auto attn = register_module("attn", std::make_shared<torch::nn::Module>());
  qkv_ = attn->register_module("qkv", Linear(c.embed_dim, 3 * c.embed_dim, c.qkv_bias));
  proj_ = attn->register_module("proj", Linear(c.embed_dim, c.embed_dim));
  norm2_ = register_module("norm2", LayerNorm(c.embed_dim, 1e-6));
  mlp_ = register_module("mlp", Mlp(c.embed_dim, static_cast<int64_t>(c.embed_dim * c.mlp_ratio), c.embed_dim));
}

at::Tensor ViTBlockImpl::forward(const at::Tensor& input) {
  const int64_t B = input.size(0), N = input.size(1), C = input.size(2);
  at::Tensor qkv = qkv_->forward(norm1_->forward(input)).reshape({B, N, 3, num_heads_, C / num_heads_}).permute({2, 0, 3, 1, 4});
  auto parts = qkv.unbind(0);
  at::Tensor a = at::scaled_dot_product_attention(parts[0], parts[1], parts[2]);
  a = proj_->forward(a.transpose(1, 2).reshape({B, N, C}));
  at::Tensor x = input + drop_path(a, drop_path_, is_training());
  return x + drop_path(mlp_->forward(norm2_->forward(x)), drop_path_, is_training());
}

VisionTransformer::VisionTransformer(const ModelSpec& spec, const ViTConfig& c, const ModelOptions& options)
    : config_(c), grad_checkpointing_(options.grad_checkpointing) {
  spec_ = spec;
  spec_.embed_dim = c.embed_dim;
  const int64_t grid = c.img_size / c.patch_size;
  auto pe = register_module("patch_embed", std::make_shared<torch::nn::Module>());
  patch_proj_ = pe->register_module(
      "proj", Conv2d(Conv2dArgs{.in = c.in_chans, .out = c.embed_dim, .kernel = c.patch_size, .stride = c.patch_size}));
  cls_token_ = register_parameter("cls_token", at::empty({1, 1, c.embed_dim}));
  pos_embed_ = register_parameter("pos_embed", at::empty({1, grid * grid + 1, c.embed_dim}));
  auto rates = drop_path_rates(options.drop_path_rate, {c.depth})[0];
  auto blocks = register_module("blocks", std::make_shared<torch::nn::Module>());
  for (int64_t i = 0; i < c.depth; ++i)
    blocks_.push_back(blocks->register_module(std::to_string(i), ViTBlock(c, rates[i])));
  norm_ = register_module("norm", LayerNorm(c.embed_dim, 1e-6));
  if (options.num_classes > 0) head_ = register_module("head", Linear(c.embed_dim, options.num_classes));
}

// timm's VisionTransformer.init_weights(mode=''): pos_embed trunc-normal(.02), cls_token normal(1e-6),
// init_weights_vit_timm on every Linear (trunc-normal .02, zero bias); the patch-embedding Conv2d
// and the LayerNorms keep PyTorch's defaults.
void VisionTransformer::init_weights() {
  at::NoGradGuard no_grad;
  timm_init::ParallelInit parallel;
  for (const auto& layer : timm_init::layers(*this)) {
    if (layer.conv) {
      timm_init::torch_default(layer);
    } else {
      timm_init::trunc_normal_zero_bias(layer);
    }
  }
  timm_init::reset_layer_norms(*this);
  timm_init::trunc_normal(pos_embed_, 0.02);
  timm_init::normal(cls_token_, 0.0, 1e-6);
  parallel.run();
}

at::Tensor VisionTransformer::forward_features(const at::Tensor& input) {
  at::Tensor x = patch_proj_->forward(input).flatten(2).transpose(1, 2);
  x = at::cat({cls_token_.expand({x.size(0), -1, -1}), x}, 1) + pos_embed_;
  for (auto& block : blocks_) {
    if (grad_checkpointing_ && is_training()) {
      auto* b = block.get();
      x = checkpoint_block([b](const at::Tensor& t) { return b->forward(t); }, x);
    } else {
      x = block->forward(x);
    }
  }
  return norm_->forward(x);
}

at::Tensor VisionTransformer::forward_embedding(const at::Tensor& features) {
  return features.select(1, 0);
}

at::Tensor VisionTransformer::forward_classifier(const at::Tensor& embedding) {
  return head_ ? head_->forward(embedding) : embedding;
}

void VisionTransformer::reset_classifier(int64_t num_classes) {
  if (head_) unregister_module("head");
  head_ = nullptr;
  spec_.num_classes = num_classes;
  if (num_classes <= 0) return;
  head_ = register_module("head", Linear(config_.embed_dim, num_classes));
  timm_init::trunc_normal_zero_bias(timm_init::linear_layer("head", head_->weight, head_->bias));
  head_->to(norm_->weight.device());
}

std::map<std::string, at::Tensor> VisionTransformer::adapt_checkpoint(std::map<std::string, at::Tensor> tensors) const {
  auto it = tensors.find("pos_embed");
  if (it == tensors.end() || it->second.dim() != 3 || it->second.sizes() == pos_embed_.sizes()) return tensors;
  at::Tensor pe = it->second;
  const int64_t old_grid = static_cast<int64_t>(std::lround(std::sqrt(double(pe.size(1) - 1))));
  const int64_t new_grid = config_.img_size / config_.patch_size;
  if (old_grid * old_grid != pe.size(1) - 1 || pe.size(2) != config_.embed_dim) return tensors;  // reported on load
  at::Tensor cls = pe.slice(1, 0, 1);
  at::Tensor grid = pe.slice(1, 1).to(at::kFloat).reshape({1, old_grid, old_grid, -1}).permute({0, 3, 1, 2});
  grid = at::upsample_bicubic2d(grid, {new_grid, new_grid}, /*align_corners=*/false);
  grid = grid.permute({0, 2, 3, 1}).reshape({1, new_grid * new_grid, -1}).to(pe.scalar_type());
  it->second = at::cat({cls, grid}, 1);
  return tensors;
}

namespace {

std::shared_ptr<Backbone> make_vit(const ModelSpec& spec, ViTConfig c, const ModelOptions& options) {
  c.img_size = spec.input_size;
  ArchOverrides overrides(options.arch_overrides, spec.name);
  overrides.read("img_size", c.img_size);
  overrides.read("patch_size", c.patch_size);
  overrides.read("in_chans", c.in_chans);
  overrides.read("embed_dim", c.embed_dim);
  overrides.read("depth", c.depth);
  overrides.read("num_heads", c.num_heads);
  overrides.read("mlp_ratio", c.mlp_ratio);
  overrides.read("qkv_bias", c.qkv_bias);
  overrides.finish();
  if (c.embed_dim % c.num_heads != 0 || c.img_size % c.patch_size != 0)
    throw std::runtime_error("model '" + spec.name + "': embed_dim must divide by num_heads and img_size by patch_size");
  ModelSpec s = spec;
  s.input_size = c.img_size;
  return std::make_shared<VisionTransformer>(s, c, options);
}

void add(Registry& r, const std::string& name, int64_t input_size, std::vector<double> mean, std::vector<double> std,
         ViTConfig c) {
  ModelSpec spec{.name = name, .family = "vit", .input_size = input_size, .mean = mean, .std = std, .embed_dim = c.embed_dim};
  r.add(spec, [c](const ModelSpec& s, const ModelOptions& o) { return make_vit(s, c, o); });
}

}  // namespace

void register_vit_models(Registry& r) {
  add(r, "vit_tiny_patch16_224.augreg_in21k_ft_in1k", 224, kHalfMeanStd, kHalfMeanStd, {.embed_dim = 192, .depth = 12, .num_heads = 3});
  add(r, "vit_small_patch16_224.augreg_in21k_ft_in1k", 224, kHalfMeanStd, kHalfMeanStd, {.embed_dim = 384, .depth = 12, .num_heads = 6});
  add(r, "vit_base_patch16_224.augreg2_in21k_ft_in1k", 224, kHalfMeanStd, kHalfMeanStd, {.embed_dim = 768, .depth = 12, .num_heads = 12});
  add(r, "vit_base_patch16_384.augreg_in21k_ft_in1k", 384, kHalfMeanStd, kHalfMeanStd, {.embed_dim = 768, .depth = 12, .num_heads = 12});
  add(r, "vit_large_patch16_384.augreg_in21k_ft_in1k", 384, kHalfMeanStd, kHalfMeanStd, {.embed_dim = 1024, .depth = 24, .num_heads = 16});
}

}  // namespace wildreid::models
