// MaxViT `_tf_` backbone (timm's MaxxVit with the maxvit_*_tf configs): stem.{conv1,norm1,conv2},
// stages.N.blocks.M.{conv,attn_block,attn_grid}, and timm's NormMlpClassifierHead
// head.{norm,pre_logits.fc,fc}. Features are NCHW (timm's `norm` is Identity when the head has a
// hidden layer); the embedding is mean-pool -> LayerNorm -> pre_logits.fc -> tanh. With
// ModelOptions::channels_last the convolutions run NHWC, which also makes the permutes into and out
// of the channels-last attention free.
#pragma once
#include <memory>
#include <vector>

#include "models/backbone.h"
#include "models/layers.h"
#include "models/maxvit_batch_norm_act.h"
#include "models/maxvit_block.h"
#include "models/maxvit_config.h"
#include "models/maxvit_same_conv.h"

namespace wildreid::models {

class MaxVit : public Backbone {
 public:
  MaxVit(const ModelSpec& spec, const MaxVitConfig& config, const ModelOptions& options);

  at::Tensor forward_features(const at::Tensor& x) override;
  at::Tensor forward_embedding(const at::Tensor& features) override;
  at::Tensor forward_classifier(const at::Tensor& embedding) override;
  void reset_classifier(int64_t num_classes) override;
  std::vector<std::string> classifier_prefixes() const override { return {"head.fc."}; }
  void set_grad_checkpointing(bool enabled) override;
  void init_weights() override;

  const MaxVitConfig& config() const { return config_; }

 private:
  MaxVitConfig config_;
  bool channels_last_;
  MaxVitSameConv2d stem_conv1_{nullptr}, stem_conv2_{nullptr};
  MaxVitBatchNormAct stem_norm1_{nullptr};
  std::vector<MaxVitStage> stages_;
  std::shared_ptr<torch::nn::Module> head_;
  LayerNorm head_norm_{nullptr};
  Linear pre_logits_fc_{nullptr};  // head.pre_logits.fc (absent when head_hidden_size == 0)
  Linear head_fc_{nullptr};
};

}  // namespace wildreid::models
