// Linear-head loss and ArcFace (see heads.h).
#include "models/heads.h"

#include <ATen/ATen.h>

#include <cmath>

namespace wildreid::models {
namespace {
at::Tensor l2_normalize(const at::Tensor& x) {
  return x / x.norm(2, {-1}, /*keepdim=*/true).clamp_min(1e-12);
}
}  // namespace

at::Tensor label_smoothing_cross_entropy(const at::Tensor& logits, const at::Tensor& target, double smoothing) {
  return at::cross_entropy_loss(logits.to(at::kFloat), target, /*weight=*/{}, at::Reduction::Mean,
                                /*ignore_index=*/-100, smoothing);
}

ArcFaceHeadImpl::ArcFaceHeadImpl(int64_t embed_dim, int64_t num_classes, ArcFaceOptions o) : options(o) {
  weight = register_parameter("weight", at::empty({num_classes, embed_dim}));
  at::NoGradGuard no_grad;
  const double bound = std::sqrt(6.0 / double(embed_dim + num_classes));  // xavier uniform
  weight.uniform_(-bound, bound);
}

at::Tensor arcface_cosine_logits(const at::Tensor& embedding, const at::Tensor& weight, const ArcFaceOptions& options) {
  return at::linear(l2_normalize(embedding.to(at::kFloat)), l2_normalize(weight.to(at::kFloat))) * options.scale;
}

at::Tensor arcface_margin_logits(const at::Tensor& embedding, const at::Tensor& weight, const at::Tensor& target,
                                 const ArcFaceOptions& options) {
  at::Tensor cosine = at::linear(l2_normalize(embedding.to(at::kFloat)), l2_normalize(weight.to(at::kFloat)))
                          .clamp(-1.0 + 1e-7, 1.0 - 1e-7);
  const double m = options.margin;
  at::Tensor sine = (1.0 - cosine * cosine).sqrt();
  at::Tensor phi = cosine * std::cos(m) - sine * std::sin(m);  // cos(θ + m)
  phi = at::where(cosine > std::cos(M_PI - m), phi, cosine - std::sin(M_PI - m) * m);
  at::Tensor one_hot = at::zeros_like(cosine).scatter_(1, target.view({-1, 1}), 1.0);
  return (one_hot * phi + (1.0 - one_hot) * cosine) * options.scale;
}

at::Tensor ArcFaceHeadImpl::logits(const at::Tensor& embedding) {
  return arcface_cosine_logits(embedding, weight, options);
}

at::Tensor ArcFaceHeadImpl::forward(const at::Tensor& embedding, const at::Tensor& target) {
  return arcface_margin_logits(embedding, weight, target, options);
}

}  // namespace wildreid::models
