// Vision Transformer (timm's vision_transformer.py) with timm's parameter names: patch_embed.proj,
// cls_token, pos_embed, blocks.N.{norm1,attn.qkv,attn.proj,norm2,mlp.fc1,mlp.fc2}, norm, head.
// Covers the classic configs the project uses: class token, learned position embedding including
// the class position, token pooling, no layer scale. A checkpoint whose pos_embed grid differs from
// this model's input size is resampled bicubically on load, as timm does.
#pragma once
#include <vector>

#include "models/backbone.h"
#include "models/layers.h"

namespace wildreid::models {

struct ViTConfig {
  int64_t img_size = 224;
  int64_t patch_size = 16;
  int64_t in_chans = 3;
  int64_t embed_dim = 768;
  int64_t depth = 12;
  int64_t num_heads = 12;
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
};

class ViTBlockImpl : public torch::nn::Module {
 public:
  ViTBlockImpl(const ViTConfig& config, double drop_path);
  at::Tensor forward(const at::Tensor& x);

 private:
  int64_t num_heads_;
  double drop_path_;
  LayerNorm norm1_{nullptr}, norm2_{nullptr};
  Linear qkv_{nullptr}, proj_{nullptr};
  Mlp mlp_{nullptr};
};
TORCH_MODULE(ViTBlock);

class VisionTransformer : public Backbone {
 public:
  VisionTransformer(const ModelSpec& spec, const ViTConfig& config, const ModelOptions& options);
  // Tokens [B, 1 + N, D] after the final norm.
  at::Tensor forward_features(const at::Tensor& x) override;
  // The class token.
  at::Tensor forward_embedding(const at::Tensor& features) override;
  at::Tensor forward_classifier(const at::Tensor& embedding) override;
  void reset_classifier(int64_t num_classes) override;
  std::vector<std::string> classifier_prefixes() const override { return {"head."}; }
  void set_grad_checkpointing(bool enabled) override { grad_checkpointing_ = enabled; }
  void init_weights() override;
  std::map<std::string, at::Tensor> adapt_checkpoint(std::map<std::string, at::Tensor> tensors) const override;

 private:
  ViTConfig config_;
  bool grad_checkpointing_ = false;
  Conv2d patch_proj_{nullptr};
  at::Tensor cls_token_, pos_embed_;
  std::vector<ViTBlock> blocks_;
  LayerNorm norm_{nullptr};
  Linear head_{nullptr};
};

}  // namespace wildreid::models
