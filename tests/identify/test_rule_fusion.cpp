// The seed's fusion rule, read from configs/identify_seed.yaml itself, on table-driven cases
// worked by hand (the arithmetic is in each row's comment), plus the generic rule's corner cases.
#include <gtest/gtest.h>

#include "identify/identify_config.h"
#include "identify/rule_fusion.h"
#include "identify/threshold.h"

namespace wildreid::identify {
namespace {

Prediction p(const std::string& id, double c) { return id.empty() ? Prediction{} : Prediction{id, c}; }

struct SeedCase {
  Prediction wf1, wf2, convnext;
  std::string wf12_identity;
  double wf12_confidence;
  std::string final_identity;
  double final_confidence;
  std::string answer;  // after the 0.45 threshold
};

TEST(SeedRule, ConfigReproducesTheSeedOnHandWorkedCases) {
  const auto config = load_identify_config("configs/identify_seed.yaml", {});
  ASSERT_EQ(config.fusion.size(), 2u);
  const FusionRule& wf12 = config.fusion[0];
  const FusionRule& final_rule = config.fusion[1];
  EXPECT_EQ(config.output, "final");
  EXPECT_FALSE(config.tune_threshold);
  EXPECT_DOUBLE_EQ(config.threshold, 0.45);

  const std::vector<SeedCase> cases = {
      // agree: (0.45*0.8 + 0.55*0.6) / 1 * 1.2 = 0.828; with ConvNeXt agreeing:
      // (0.828 + 0.25*0.9) / 1.25 * 1.7 = 1.43208
      {p("A", 0.8), p("A", 0.6), p("A", 0.9), "A", 0.828, "A", 1.43208, "A"},
      // WF disagree -> WF-2: 0.55*0.5*1.82 = 0.5005; ConvNeXt says A: 0.5005 vs 0.25*0.9 = 0.225 -> B
      {p("A", 0.9), p("B", 0.5), p("A", 0.9), "B", 0.5005, "B", 0.5005, "B"},
      // WF-2 has no answer -> WF-1: 0.45*0.9 = 0.405; ConvNeXt B: 0.405 vs 0.225 -> A 0.405 < 0.45
      {p("A", 0.9), p("", 0), p("B", 0.9), "A", 0.405, "A", 0.405, "new_individual"},
      // WF disagree -> B 0.55*0.2*1.82 = 0.2002; ConvNeXt A 0.95: 0.2375 > 0.2002 -> A, 0.2375*1.2 = 0.285
      {p("A", 0.3), p("B", 0.2), p("A", 0.95), "B", 0.2002, "A", 0.285, "new_individual"},
      // agree B: (0.45*0.4 + 0.55*0.4) * 1.2 = 0.48; ConvNeXt B 0.1: (0.48 + 0.025) / 1.25 * 1.7 = 0.6868
      {p("B", 0.4), p("B", 0.4), p("B", 0.1), "B", 0.48, "B", 0.6868, "B"},
      // agree C low: (0.45*0.2 + 0.55*0.3) * 1.2 = 0.306; ConvNeXt C 0.2: (0.306 + 0.05) / 1.25 * 1.7 = 0.48416
      {p("C", 0.2), p("C", 0.3), p("C", 0.2), "C", 0.306, "C", 0.48416, "C"},
      // nothing from either WildFusion -> ConvNeXt alone: 0.25*1.0*1.2 = 0.3 -> new_individual
      {p("", 0), p("", 0), p("D", 1.0), "", 0, "D", 0.3, "new_individual"},
  };
  for (size_t k = 0; k < cases.size(); ++k) {
    const auto& c = cases[k];
    const Prediction first = fuse(c.wf1, c.wf2, wf12);
    EXPECT_EQ(first.identity, c.wf12_identity) << "case " << k;
    if (first.has_identity()) EXPECT_NEAR(first.confidence, c.wf12_confidence, 1e-12) << "case " << k;
    const Prediction last = fuse(first, c.convnext, final_rule);
    EXPECT_EQ(last.identity, c.final_identity) << "case " << k;
    EXPECT_NEAR(last.confidence, c.final_confidence, 1e-12) << "case " << k;
    EXPECT_EQ(decide(last, config.threshold), c.answer) << "case " << k;
  }
}

TEST(SeedRule, LocalPipelinesAreMarkedForLocalMatching) {
  const auto config = load_identify_config("configs/identify_seed.yaml", {});
  int local = 0;
  for (const auto& pipeline : config.pipelines) local += pipeline.type == "local";
  EXPECT_EQ(local, 2);
  EXPECT_EQ(config.components[0].pipelines, (std::vector<std::string>{"mega", "aliked_lightglue_1"}));
}

TEST(RuleFusion, PlainMeanAndNamedSidesAndTies) {
  FusionRule r;
  r.agree_boost = 2;
  r.mean = FusionRule::Mean::kPlain;
  r.weight_a = 1;
  r.weight_b = 3;
  // plain: (1*0.2 + 3*0.6) / 2 * 2 = 2.0; weighted: (0.2 + 1.8) / (1 + 3) * 2 = 1.0
  EXPECT_NEAR(fuse(p("X", 0.2), p("X", 0.6), r).confidence, (0.2 + 1.8) / 2 * 2, 1e-12);
  r.mean = FusionRule::Mean::kWeighted;
  EXPECT_NEAR(fuse(p("X", 0.2), p("X", 0.6), r).confidence, (0.2 + 1.8) / 4 * 2, 1e-12);
  r.disagree = FusionRule::Pick::kA;
  r.boost_a = 3;
  EXPECT_EQ(fuse(p("X", 0.1), p("Y", 0.9), r).identity, "X");
  EXPECT_NEAR(fuse(p("X", 0.1), p("Y", 0.9), r).confidence, 0.3, 1e-12);
  r.disagree = FusionRule::Pick::kHigher;
  r.weight_b = 1;
  EXPECT_EQ(fuse(p("X", 0.5), p("Y", 0.5), r).identity, "X") << "equal weighted confidences: side a";
  EXPECT_FALSE(fuse(p("", 0), p("", 0), r).has_identity());
}

}  // namespace
}  // namespace wildreid::identify
