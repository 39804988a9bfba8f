// ConvNeXt (timm's convnext.py) with timm's parameter names: stem.{0,1}, stages.N.downsample.{0,1},
// stages.N.blocks.M.{conv_dw,norm,mlp.fc1,mlp.fc2,gamma}, head.norm, head.fc. Covers the configs the
// project uses (atto with conv_mlp, tiny, xlarge); ls_init_value > 0 and no head hidden layer.
#pragma once
#include <vector>

#include "models/backbone.h"
#include "models/layers.h"

namespace wildreid::models {

struct ConvNeXtConfig {
  std::vector<int64_t> depths{3, 3, 9, 3};
  std::vector<int64_t> dims{96, 192, 384, 768};
  bool conv_mlp = false;
  double ls_init_value = 1e-6;
  int64_t in_chans = 3;
};

class ConvNeXtBlockImpl : public torch::nn::Module {
 public:
  ConvNeXtBlockImpl(int64_t dim, bool conv_mlp, double drop_path);
  at::Tensor forward(const at::Tensor& x);

 private:
  bool conv_mlp_;
  double drop_path_;
  Conv2d conv_dw_{nullptr};
  LayerNorm norm_{nullptr};  // over channels; applied NHWC (LayerNorm2d when conv_mlp)
  Mlp mlp_{nullptr};
  at::Tensor gamma_;
};
TORCH_MODULE(ConvNeXtBlock);

class ConvNeXtStageImpl : public torch::nn::Module {
 public:
  ConvNeXtStageImpl(int64_t in, int64_t out, int64_t depth, bool downsample, bool conv_mlp,
                    const std::vector<double>& drop_path);
  at::Tensor forward(const at::Tensor& x);
  bool grad_checkpointing = false;

 private:
  LayerNorm2d downsample_norm_{nullptr};  // downsample.0 / downsample.1 (absent in stage 0)
  Conv2d downsample_conv_{nullptr};
  std::vector<ConvNeXtBlock> blocks_;
};
TORCH_MODULE(ConvNeXtStage);

class ConvNeXt : public Backbone {
 public:
  ConvNeXt(const ModelSpec& spec, const ConvNeXtConfig& config, const ModelOptions& options);
  at::Tensor forward_features(const at::Tensor& x) override;
  at::Tensor forward_embedding(const at::Tensor& features) override;
  at::Tensor forward_classifier(const at::Tensor& embedding) override;
  void reset_classifier(int64_t num_classes) override;
  std::vector<std::string> classifier_prefixes() const override { return {"head.fc."}; }
  void set_grad_checkpointing(bool enabled) override;
  void init_weights() override;

 private:
  void init_head();
  ConvNeXtConfig config_;
  bool channels_last_;
  Conv2d stem_conv_{nullptr};
  LayerNorm2d stem_norm_{nullptr};
  std::vector<ConvNeXtStage> stages_;
  std::shared_ptr<torch::nn::Module> head_;
  LayerNorm2d head_norm_{nullptr};
  Linear head_fc_{nullptr};
};

}  // namespace wildreid::models
