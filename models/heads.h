// Fine-tuning heads and losses on top of a backbone's embedding: label-smoothing cross-entropy for
// the Linear classifier, and an ArcFace margin head (additive angular margin m, scale s;
// MegaDescriptor used m = 0.5, s = 64). ArcFace follows the common "easy margin off" formulation
// with the fallback cos(θ) − m·sin(m) where θ + m would exceed π.
#pragma once
#include <ATen/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace wildreid::models {

// Mean cross-entropy of `logits` [B, C] against `target` [B] (int64) with label smoothing.
at::Tensor label_smoothing_cross_entropy(const at::Tensor& logits, const at::Tensor& target, double smoothing = 0.1);

struct ArcFaceOptions {
  double margin = 0.5;
  double scale = 64.0;
};

// ArcFace with the class centres `weight` [C, D] held elsewhere (e.g. a backbone's classifier
// weight, so it keeps timm's name and loads, saves and resumes like any classifier): scaled
// cosine logits with the margin added to each sample's target class (training).
at::Tensor arcface_margin_logits(const at::Tensor& embedding, const at::Tensor& weight, const at::Tensor& target,
                                 const ArcFaceOptions& options);
// Scaled cosine logits without margin (inference): scale x cos(embedding, weight row).
at::Tensor arcface_cosine_logits(const at::Tensor& embedding, const at::Tensor& weight, const ArcFaceOptions& options);

class ArcFaceHeadImpl : public torch::nn::Module {
 public:
  ArcFaceHeadImpl(int64_t embed_dim, int64_t num_classes, ArcFaceOptions options = {});
  // Scaled cosine logits with the margin added to each sample's target class (training).
  at::Tensor forward(const at::Tensor& embedding, const at::Tensor& target);
  // Scaled cosine logits without margin (inference).
  at::Tensor logits(const at::Tensor& embedding);
  at::Tensor weight;  // [num_classes, embed_dim]
  ArcFaceOptions options;
};
TORCH_MODULE(ArcFaceHead);

}  // namespace wildreid::models
