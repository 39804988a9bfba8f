// The interface every backbone (ConvNeXt, Swin, MaxViT, ViT) implements, so the trainer, the
// `forward` command and identification treat them alike. Parameter names are timm's exactly
// (a timm model.safetensors loads by name); the classifier is replaceable for fine-tuning.
// Families create parameters uninitialised; create_model runs init_weights() only when
// ModelOptions asks (the default), so counting parameters or loading weights costs nothing.
#pragma once
#include <ATen/Tensor.h>
#include <torch/nn/module.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace wildreid::models {

// What the registry knows of a named architecture (timm's pretrained_cfg, in short).
struct ModelSpec {
  std::string name;               // timm name with its default pretrained tag, e.g. "convnext_xlarge.fb_in22k_ft_in1k_384"
  std::string family;             // "convnext", "vit", "swin", "maxvit"
  int64_t input_size = 224;       // square input side in pixels
  std::vector<double> mean;       // normalisation, RGB
  std::vector<double> std;
  int64_t embed_dim = 0;          // pre-logits embedding width
  int64_t num_classes = 1000;
};

// Options a caller may change when creating a model.
struct ModelOptions {
  int64_t num_classes = 1000;       // 0 = no classifier (logits == embedding)
  int64_t img_size = 0;             // 0 = the spec's input size (matters for ViT/Swin/MaxViT shapes)
  bool grad_checkpointing = false;  // re-run each block in backward instead of storing activations
  double drop_path_rate = 0.0;      // stochastic depth, linearly increasing over blocks as in timm
  bool channels_last = false;       // conv nets: run convolutions in NHWC memory format
  bool init_weights = true;         // false: leave parameters uninitialised (weights loaded next, or counting)
  // JSON object of timm create_model kwargs overriding the architecture (e.g. tiny test configs:
  // {"depths": [1,1,2,1], "dims": [16,32,64,128]}); unknown keys are an error naming the key.
  std::string arch_overrides;
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
  // Replace the classifier for a new label set (fresh init, as init_weights() would draw it).
  virtual void reset_classifier(int64_t num_classes) = 0;
  // timm's initialisation of this family, every parameter and buffer (models/timm_init.h): the one
  // init path. create_model runs it unless ModelOptions::init_weights is false (weights are about
  // to be loaded, or only shapes are needed); whoever created the model uninitialised may run it later.
  virtual void init_weights() = 0;
  // Prefixes of classifier parameter names (e.g. "head.fc."), used by --ignore-head.
  virtual std::vector<std::string> classifier_prefixes() const = 0;
  virtual void set_grad_checkpointing(bool enabled) = 0;
  // Suffixes of buffer names timm does not save (recomputed index tables, masks); skipped on export
  // and on strict loading.
  virtual std::vector<std::string> non_persistent_buffer_suffixes() const { return {}; }
  // Adapts a checkpoint's name->tensor map to this model before loading (old key layouts, position
  // embeddings resized to this model's input size). Default: unchanged.
  virtual std::map<std::string, at::Tensor> adapt_checkpoint(std::map<std::string, at::Tensor> tensors) const {
    return tensors;
  }

  at::Tensor forward(const at::Tensor& x) {
    return forward_classifier(forward_embedding(forward_features(x)));
  }
  const ModelSpec& spec() const { return spec_; }

 protected:
  ModelSpec spec_;
};

}  // namespace wildreid::models
