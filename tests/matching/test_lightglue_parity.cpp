// LightGlue against kornia 0.9 (the oracle), random weights built in kornia, saved with torch.save
// and loaded into ours, fp32 CPU: with adaptive depth and width off, the log-assignment matrix
// within 1e-4 and the matches identical; with both on (kornia's defaults), the same matches and
// the same exit layer per pair, for ALIKED-type and SIFT-type (scale + orientation) models. Each
// case runs its pairs once as one padded batch and once pair by pair: both must agree with
// kornia's pair-by-pair result.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>

#include "matching/lightglue.h"
#include "checkpoints/weights_file.h"
#include "matching/network_weights.h"
#include "tests/matching/kornia_oracle.h"

namespace wildreid::matching {
namespace {

using testing::max_abs_diff;

LocalFeatures oracle_features(const testing::OracleCase& c, const std::string& side, int pair) {
  const std::string s = side + "_" + std::to_string(pair);
  LocalFeatures f;
  f.keypoints = c.io.at("kpts" + s);
  f.descriptors = c.io.at("desc" + s);
  f.scores = at::ones({f.keypoints.size(0)});
  at::Tensor size = c.io.at("size" + s);
  f.width = static_cast<int64_t>(size[0].item<float>());
  f.height = static_cast<int64_t>(size[1].item<float>());
  if (c.io.count("scales" + s)) {
    f.scales = c.io.at("scales" + s);
    f.oris = c.io.at("oris" + s);
  }
  return f;
}

void expect_lightglue_parity(const std::string& name) {
  auto c = testing::load_oracle_case(name, "lightglue");
  const bool adaptive = c.metadata.at("adaptive") == "1";
  LightGlueOptions o = lightglue_options_for(c.metadata.at("features"));
  o.filter_threshold = std::stod(c.metadata.at("filter_threshold"));
  if (!adaptive) o.depth_confidence = o.width_confidence = -1;
  LightGlue model(o);
  load_lightglue_weights(*model, checkpoints::read_weights_file(c.weights_pth), c.weights_pth.string());
  const int pairs = std::stoi(c.metadata.at("pairs"));
  std::vector<LocalFeatures> f0, f1;
  for (int p = 0; p < pairs; ++p) {
    f0.push_back(oracle_features(c, "0", p));
    f1.push_back(oracle_features(c, "1", p));
  }
  std::vector<FeaturePair> all;
  for (int p = 0; p < pairs; ++p) all.emplace_back(&f0[p], &f1[p]);
  const auto batched = model->match(all, /*with_log_assignment=*/true);
  for (int p = 0; p < pairs; ++p) {
    const auto single = model->match({all[p]}, true).front();
    const std::string tag = name + " pair " + std::to_string(p);
    const at::Tensor kornia_matches = c.io.at("matches0_" + std::to_string(p));
    const int64_t kornia_layers = c.io.at("stop_" + std::to_string(p)).item<int64_t>();
    for (const auto* r : {&batched[p], &single}) {
      const char* how = r == &single ? "alone" : "in the batch";
      EXPECT_TRUE(r->matches0.equal(kornia_matches)) << tag << " " << how << ": matches differ from kornia";
      EXPECT_EQ(r->layers, kornia_layers) << tag << " " << how << ": layers run";
      at::Tensor matched = kornia_matches > -1;
      const double d_scores = max_abs_diff(tag + " scores", r->scores0.masked_select(matched),
                                           c.io.at("mscores0_" + std::to_string(p)).masked_select(matched));
      EXPECT_LE(d_scores, 1e-4) << tag << " " << how;
      double d_la = 0;
      if (!adaptive) {
        ASSERT_TRUE(r->log_assignment.defined()) << tag;
        d_la = max_abs_diff(tag + " log_assignment", r->log_assignment, c.io.at("log_assignment_" + std::to_string(p)));
        EXPECT_LE(d_la, 1e-4) << tag << " " << how;
      }
      std::printf("%s %s: %lld matches (kornia %lld), %lld layers, max abs diff: scores %.3g, log-assignment %s\n",
                  tag.c_str(), how, static_cast<long long>((r->matches0 > -1).sum().item<int64_t>()),
                  static_cast<long long>(matched.sum().item<int64_t>()), static_cast<long long>(r->layers), d_scores,
                  adaptive ? "n/a (pruned)" : std::to_string(d_la).c_str());
    }
  }
}

TEST(LightGlueParity, AlikedFixedDepthAndWidth) { expect_lightglue_parity("lightglue-aliked"); }
TEST(LightGlueParity, AlikedAdaptive) { expect_lightglue_parity("lightglue-aliked-adaptive"); }
TEST(LightGlueParity, SiftAdaptive) { expect_lightglue_parity("lightglue-sift-adaptive"); }

}  // namespace
}  // namespace wildreid::matching
