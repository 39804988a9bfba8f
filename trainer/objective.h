// What the network is trained to predict, in one place: `loss.type: ce` trains the backbone's
// classifier with cross-entropy; `loss.type: arcface` trains the same classifier weight as ArcFace
// class centres (cosine of the embedding with each row, margin m on the target class, scale s,
// then cross-entropy; MegaDescriptor used m = 0.5, s = 64) with the bias unused (zero, frozen).
// Keeping ArcFace's weight in the classifier's own parameter means it keeps timm's name, so
// checkpoints, resume, `init.from` and `init.new_head` treat both losses alike, and the exported
// best.safetensors gives the identify stage both the embedding and a class prediction: the
// export writes ArcFace rows at unit length with a zero bias, so timm's plain Linear classifier
// ranks classes exactly as the cosine does (scale s x the row's logit / |embedding| = ArcFace's
// inference logit), and its metadata names the loss, margin and scale.
#pragma once
#include <ATen/Tensor.h>

#include <vector>

#include "models/backbone.h"
#include "models/heads.h"
#include "models/model_weights.h"
#include "trainer/train_config.h"

namespace wildreid::trainer {

class Objective {
 public:
  // `model` must outlive the objective and already sit on its device (the classifier is looked up
  // once here). ArcFace needs a classifier (num_classes > 0); throws naming the model otherwise.
  Objective(models::Backbone& model, const TrainConfig& config);

  // Training forward of one micro-batch: logits (ce) or the embedding (arcface).
  at::Tensor forward(const at::Tensor& images) const;
  // The loss of forward()'s output (inside the caller's autocast region; computed in fp32).
  at::Tensor loss(const at::Tensor& output, const at::Tensor& labels) const;
  // Class scores for validation and inference: logits (ce) or s x cosine (arcface, no margin).
  at::Tensor class_logits(const at::Tensor& images) const;
  // Parameters the optimizer and the gradient reducer update (all but ArcFace's unused bias).
  std::vector<std::pair<std::string, at::Tensor>> trainable_parameters() const;
  // What best.safetensors adds to the model's state: the loss in the metadata, ArcFace rows at
  // unit length.
  models::ExportOptions export_options() const;

  LossKind kind() const { return kind_; }

 private:
  models::Backbone& model_;
  LossKind kind_;
  double label_smoothing_;
  models::ArcFaceOptions arcface_;
  at::Tensor class_weight_;  // ArcFace: the classifier weight [C, D]
  std::string class_weight_name_, class_bias_name_;
};

}  // namespace wildreid::trainer
