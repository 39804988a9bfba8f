// The Swin Transformer backbone (timm's SwinTransformer, current key layout): patch_embed.{proj,norm},
// layers.N.{downsample,blocks.M.*}, norm, head.fc. Features are NHWC after the final LayerNorm; the
// embedding is their spatial mean (timm's ClassifierHead with pre_logits=True). Old timm <= 0.9.5
// files (MegaDescriptor-L-384) are converted on load by adapt_checkpoint (models/swin_legacy_layout.h).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/backbone.h"
#include "models/layers.h"
#include "models/swin_config.h"
#include "models/swin_stage.h"

namespace wildreid::models {

class SwinTransformer : public Backbone {
 public:
  SwinTransformer(const ModelSpec& spec, const SwinConfig& config, const ModelOptions& options);

  at::Tensor forward_features(const at::Tensor& x) override;
  at::Tensor forward_embedding(const at::Tensor& features) override;
  at::Tensor forward_classifier(const at::Tensor& embedding) override;
  void reset_classifier(int64_t num_classes) override;
  std::vector<std::string> classifier_prefixes() const override { return {"head.fc."}; }
  void set_grad_checkpointing(bool enabled) override;
  void init_weights() override;
  // Old-layout keys renamed, persisted index/mask buffers checked against ours and dropped.
  std::map<std::string, at::Tensor> adapt_checkpoint(std::map<std::string, at::Tensor> tensors) const override;

  const SwinConfig& config() const { return config_; }
  const std::vector<SwinStage>& stages() const { return stages_; }

 private:
  SwinConfig config_;
  Conv2d patch_proj_{nullptr};
  LayerNorm patch_norm_{nullptr};
  std::vector<SwinStage> stages_;
  LayerNorm norm_{nullptr};
  std::shared_ptr<torch::nn::Module> head_;  // holds only `fc`; pooling is in forward_embedding
  Linear head_fc_{nullptr};
};

}  // namespace wildreid::models
