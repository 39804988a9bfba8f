// The interface every backbone (ConvNeXt, Swin, MaxViT, ViT) implements, so the trainer, the
// `forward` command and identification treat them alike. Parameter names are timm's exactly
// (a timm model.safetensors loads by name); the classifier is replaceable for fine-tuning.
#pragma once
#include <torch/nn/module.h>

#include <memory>
#include <string>
#include <vector>

namespace wildreid::models {

// What the registry knows of a named architecture (timm's pretrained_cfg, in short).
struct ModelSpec {
  std::string name;               // timm name, e.g. "convnext_xlarge.fb_in22k_ft_in1k_384" alias "convnext_xlarge"
  int64_t input_size = 224;       // square input side in pixels
  std::vector<double> mean;       // normalisation, RGB
  std::vector<double> std;
  int64_t embed_dim = 0;          // pre-logits embedding width
  int64_t num_classes = 1000;
};

// Options a caller may change when creating a model.
struct ModelOptions {
  int64_t num_classes = 1000;     // 0 = no classifier (logits == embedding)
  int64_t img_size = 0;           // 0 = the spec's input size
  bool grad_checkpointing = false;  // re-run each block in backward instead of storing activations
  double drop_path_rate = 0.0;
};

class Backbone : public torch::nn::Module {
 public:
  // Unpooled features as timm's forward_features returns them (NCHW for conv nets,
  // tokens for ViT, NHWC for Swin).
  virtual at::Tensor forward_features(const at::Tensor& x) = 0;
  // timm's forward_head(features, pre_logits=True): the pooled, normed embedding.
  virtual at::Tensor forward_embedding(const at::Tensor& features) = 0;
  // The classifier applied to the embedding (identity when num_classes == 0).
  virtual at::Tensor forward_classifier(const at::Tensor& embedding) = 0;
  // Replace the classifier for a new label set (fresh init).
  virtual void reset_classifier(int64_t num_classes) = 0;
  // Prefix of classifier parameter names (e.g. "head.fc."), used by --ignore-head.
  virtual std::vector<std::string> classifier_prefixes() const = 0;
  virtual void set_grad_checkpointing(bool enabled) = 0;

  at::Tensor forward(const at::Tensor& x) {
    return forward_classifier(forward_embedding(forward_features(x)));
  }
  const ModelSpec& spec() const { return spec_; }

 protected:
  ModelSpec spec_;
};

}  // namespace wildreid::models
