// Heads: ArcFace logits against the formula written out per element, and label-smoothing CE
// against its definition (1-ε)·NLL + ε·mean(−log p).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "models/heads.h"

using namespace wildreid::models;

TEST(Heads, ArcFaceAddsAngularMarginToTargetOnly) {
  at::manual_seed(0);
  ArcFaceHead head(8, 5, ArcFaceOptions{.margin = 0.5, .scale = 64.0});
  at::Tensor emb = at::randn({4, 8});
  at::Tensor target = at::tensor({0, 3, 4, 1}, at::kLong);
  at::Tensor out = head->forward(emb, target);
  at::Tensor plain = head->logits(emb);
  auto e = emb / emb.norm(2, {1}, true);
  auto w = head->weight / head->weight.norm(2, {1}, true);
  for (int64_t i = 0; i < 4; ++i) {
    for (int64_t j = 0; j < 5; ++j) {
      double c = (e[i] * w[j]).sum().item<double>();
      double expect = 64.0 * c;
      if (j == target[i].item<int64_t>()) {
        double theta = std::acos(c);
        expect = theta + 0.5 < M_PI ? 64.0 * std::cos(theta + 0.5) : 64.0 * (c - std::sin(M_PI - 0.5) * 0.5);
      }
      EXPECT_NEAR(out[i][j].item<double>(), expect, 1e-3) << i << "," << j;
      EXPECT_NEAR(plain[i][j].item<double>(), 64.0 * c, 1e-3);
    }
  }
}

TEST(Heads, LabelSmoothingCrossEntropyMatchesDefinition) {
  at::manual_seed(1);
  at::Tensor logits = at::randn({6, 4});
  at::Tensor target = at::tensor({0, 1, 2, 3, 1, 0}, at::kLong);
  const double eps = 0.1;
  at::Tensor logp = at::log_softmax(logits, 1);
  double nll = -logp.gather(1, target.view({-1, 1})).mean().item<double>();
  double uniform = -logp.mean(1).mean().item<double>();
  double expect = (1 - eps) * nll + eps * uniform;
  EXPECT_NEAR(label_smoothing_cross_entropy(logits, target, eps).item<double>(), expect, 1e-6);
}
