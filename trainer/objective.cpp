// See objective.h.
#include "trainer/objective.h"

#include <ATen/ATen.h>

#include <cstdio>
#include <stdexcept>

namespace wildreid::trainer {

Objective::Objective(models::Backbone& model, const TrainConfig& config)
    : model_(model), kind_(config.loss), label_smoothing_(config.label_smoothing) {
  arcface_.margin = config.arcface_margin;
  arcface_.scale = config.arcface_scale;
  if (kind_ != LossKind::kArcFace) return;
  const std::string prefix = model.classifier_prefixes().front();
  class_weight_name_ = prefix + "weight";
  class_bias_name_ = prefix + "bias";
  for (const auto& item : model.named_parameters()) {
    if (item.key() == class_weight_name_) class_weight_ = item.value();
    if (item.key() == class_bias_name_) {
      at::NoGradGuard no_grad;
      item.value().zero_();
      item.value().set_requires_grad(false);
    }
  }
  if (!class_weight_.defined())
    throw std::runtime_error("loss.type arcface: model '" + model.spec().name + "' has no classifier '" +
                             class_weight_name_ + "' (num_classes must be > 0)");
}

at::Tensor Objective::forward(const at::Tensor& images) const {
  if (kind_ == LossKind::kArcFace) return model_.forward_embedding(model_.forward_features(images));
  return model_.forward(images);
}

at::Tensor Objective::loss(const at::Tensor& output, const at::Tensor& labels) const {
  const at::Tensor logits = kind_ == LossKind::kArcFace
                                ? models::arcface_margin_logits(output, class_weight_, labels, arcface_)
                                : output.to(at::kFloat);
  return at::cross_entropy_loss(logits, labels, {}, at::Reduction::Mean, -100, label_smoothing_);
}

at::Tensor Objective::class_logits(const at::Tensor& images) const {
  if (kind_ == LossKind::kArcFace)
    return models::arcface_cosine_logits(model_.forward_embedding(model_.forward_features(images)), class_weight_,
                                         arcface_);
  return model_.forward(images);
}

std::vector<std::pair<std::string, at::Tensor>> Objective::trainable_parameters() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& item : model_.named_parameters())
    if (item.value().requires_grad()) out.emplace_back(item.key(), item.value());
  return out;
}

models::ExportOptions Objective::export_options() const {
  models::ExportOptions out;
  if (kind_ != LossKind::kArcFace) {
    out.metadata["loss"] = "ce";
    return out;
  }
  char number[32];
  out.metadata["loss"] = "arcface";
  std::snprintf(number, sizeof(number), "%.17g", arcface_.margin);
  out.metadata["arcface_margin"] = number;
  std::snprintf(number, sizeof(number), "%.17g", arcface_.scale);
  out.metadata["arcface_scale"] = number;
  at::NoGradGuard no_grad;
  const at::Tensor w = class_weight_.detach().to(at::kFloat);
  out.replace[class_weight_name_] = (w / w.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12)).to(class_weight_.dtype());
  return out;
}

}  // namespace wildreid::trainer
