// ALIKED against kornia 0.9 (the oracle): every variant built with random weights in kornia, saved
// with torch.save (as the published checkpoints are), loaded into ours; dense maps, keypoints,
// descriptors and scores within 1e-4 in fp32 on CPU, in top-k mode and in threshold mode (capped,
// and the mean fallback). Also: the CPU deformable convolution kernel against the ATen reference.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>

#include "matching/aliked.h"
#include "matching/deform_conv.h"
#include "checkpoints/weights_file.h"
#include "matching/network_weights.h"
#include "tests/matching/kornia_oracle.h"

namespace wildreid::matching {
namespace {

using testing::max_abs_diff;

void expect_aliked_parity(const std::string& name) {
  auto c = testing::load_oracle_case(name, "aliked");
  AlikedOptions o;
  o.variant = c.metadata.at("variant");
  o.max_keypoints = std::stoll(c.metadata.at("max_keypoints"));
  o.detection_threshold = std::stod(c.metadata.at("threshold"));
  Aliked model(o);
  // The torch.save file, as the published checkpoints are; it must hold what the safetensors holds.
  const auto pth = checkpoints::read_weights_file(c.weights_pth), st = checkpoints::read_weights_file(c.weights);
  ASSERT_EQ(pth.size(), st.size()) << name;
  for (const auto& [key, t] : st) EXPECT_TRUE(pth.at(key).equal(t)) << name << " " << key;
  load_aliked_weights(*model, pth, c.weights_pth.string());
  at::NoGradGuard no_grad;
  auto [feature_map, score_map] = model->dense_maps(c.io.at("image"));
  LocalFeatures f = model->extract(c.io.at("image"));
  const double d_feat = max_abs_diff(name + " feature_map", feature_map, c.io.at("feature_map"));
  const double d_score = max_abs_diff(name + " score_map", score_map, c.io.at("score_map"));
  ASSERT_EQ(f.size(), c.io.at("keypoints").size(0)) << name << ": keypoint count";
  const double d_kpts = max_abs_diff(name + " keypoints", f.keypoints, c.io.at("keypoints"));
  const double d_desc = max_abs_diff(name + " descriptors", f.descriptors, c.io.at("descriptors"));
  const double d_scores = max_abs_diff(name + " scores", f.scores, c.io.at("scores"));
  std::printf("%s: %lld keypoints; max abs diff vs kornia: feature map %.3g, score map %.3g, keypoints %.3g px, "
              "descriptors %.3g, scores %.3g\n",
              name.c_str(), static_cast<long long>(f.size()), d_feat, d_score, d_kpts, d_desc, d_scores);
  EXPECT_LE(d_feat, 1e-4);
  EXPECT_LE(d_score, 1e-4);
  EXPECT_LE(d_kpts, 1e-4);
  EXPECT_LE(d_desc, 1e-4);
  EXPECT_LE(d_scores, 1e-4);
}

TEST(AlikedParity, T16TopK) { expect_aliked_parity("aliked-t16"); }
TEST(AlikedParity, N16TopK) { expect_aliked_parity("aliked-n16"); }
TEST(AlikedParity, N16RotTopK) { expect_aliked_parity("aliked-n16rot"); }
TEST(AlikedParity, N32TopK) { expect_aliked_parity("aliked-n32"); }
TEST(AlikedParity, N16ThresholdCapped) { expect_aliked_parity("aliked-n16-threshold"); }
TEST(AlikedParity, N16ThresholdMeanFallback) { expect_aliked_parity("aliked-n16-mean"); }

TEST(DeformConv, CpuKernelMatchesReference) {
  at::manual_seed(3);
  at::Tensor x = at::randn({2, 5, 9, 11});
  at::Tensor offset = 3 * at::randn({2, 18, 9, 11});  // reaches past the border: zero corners
  at::Tensor weight = at::randn({7, 5, 3, 3}), bias = at::randn({7});
  at::Tensor ours = deform_conv2d(x, offset, weight, bias, {});
  at::Tensor ref = deform_conv2d_reference(x, offset, weight, bias, {});
  EXPECT_LE(max_abs_diff("deform_conv2d", ours, ref), 1e-4);
  // Zero offsets: an ordinary convolution.
  at::Tensor plain = deform_conv2d(x, at::zeros_like(offset), weight, bias, {});
  EXPECT_LE(max_abs_diff("deform_conv2d zero offsets", plain, at::conv2d(x, weight, bias, 1, 1)), 1e-4);
}

}  // namespace
}  // namespace wildreid::matching
