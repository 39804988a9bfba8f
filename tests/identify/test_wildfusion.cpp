// WildFusion on a toy problem whose answer is worked out by hand: embeddings are unit vectors at
// given angles, so every cosine is cos(difference); a test-only local scorer (standing in for
// matching/) knows who is who. Global similarity alone gets query q1 wrong; fused with the
// calibrated local pipeline it gets it right, with the confidence computed in the comments. Also
// checks that pairs outside the shortlist cannot win and that local pipelines plug in through a
// PairScorerFactory in a full run.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <map>
#include <tuple>

#include "identify/identify_run.h"
#include "identify/pipeline.h"
#include "identify/wildfusion.h"
#include "tests/data/data_test_util.h"

namespace wildreid::identify {
namespace {

namespace fs = std::filesystem;
constexpr double kPi = 3.14159265358979323846;

// Scores 10 for two images of the same individual, 1 otherwise; counts what it was asked.
class TruthScorer : public PairScorer {
 public:
  explicit TruthScorer(std::map<std::string, std::string> who, size_t* calls = nullptr)
      : who_(std::move(who)), calls_(calls) {}
  std::string name() const override { return "truth"; }
  std::vector<float> score_pairs(const std::vector<std::pair<std::string, std::string>>& pairs) override {
    if (calls_) *calls_ += pairs.size();
    std::vector<float> out;
    for (const auto& [a, b] : pairs) out.push_back(who_.at(a) == who_.at(b) ? 10.0f : 1.0f);
    return out;
  }

 private:
  std::map<std::string, std::string> who_;
  size_t* calls_;
};

struct Toy {
  EmbeddingRows rows;
  std::map<std::string, std::string> who;
  at::Tensor features;  // [rows, 2] unit vectors
  Toy() {
    // database a1 0deg, a2 10, b1 40, b2 50, c1 90; calibration (val) a3 5, b3 45, c2 95;
    // queries q1 (really A) 30, q2 (really B) 48.
    const std::vector<std::tuple<std::string, std::string, std::string, double>> spec = {
        {"a1", "A", "train", 0},  {"a2", "A", "train", 10}, {"b1", "B", "train", 40}, {"b2", "B", "train", 50},
        {"c1", "C", "train", 90}, {"a3", "A", "val", 5},    {"b3", "B", "val", 45},   {"c2", "C", "val", 95},
        {"q1", "", "query", 30},  {"q2", "", "query", 48}};
    std::vector<float> xy;
    for (const auto& [id, identity, split, degrees] : spec) {
      rows.push_back(id, identity, "D", split, "x", -1);
      who[id] = id == "q1" ? "A" : id == "q2" ? "B" : identity;
      xy.push_back(static_cast<float>(std::cos(degrees * kPi / 180)));
      xy.push_back(static_cast<float>(std::sin(degrees * kPi / 180)));
    }
    features = at::tensor(xy).view({static_cast<int64_t>(spec.size()), 2});
  }
};

ScenarioOptions no_withholding() {
  ScenarioOptions o;
  o.unknown_fraction = 0;  // calibration queries a3, b3, c2 all known
  return o;
}

TEST(WildFusion, LocalEvidenceOverturnsTheGlobalTopOneOnAToyProblem) {
  Toy toy;
  const RowTable table(toy.rows);
  const auto calibration = calibration_scenario(table, no_withholding());
  const auto query = query_scenario(table, no_withholding());
  ASSERT_EQ(calibration.queries.size(), 3u);
  GlobalPipeline global("global", toy.features, ShortlistOptions{});
  LocalPipeline local("local", std::make_unique<TruthScorer>(toy.who), toy.rows);

  // Global alone: q1 at 30deg is nearest to b1 (10deg away) -> B, wrong.
  WildFusion global_only({"global_only", 0, true}, &global, {&global});
  global_only.calibrate(calibration, table);
  const auto alone = global_only.predict(query, table);
  EXPECT_EQ(alone[0].identity, "D/B");
  EXPECT_EQ(alone[1].identity, "D/B");

  // Calibration pairs (all 15): the five same-individual pairs have cosine cos 5deg, every other
  // pair <= cos 35deg, so the global calibration is 0 up to cos 35, 1 from cos 5, linear between.
  // The local scorer separates perfectly: 1 -> 0, 10 -> 1.
  WildFusion fusion({"fusion", 0, true}, &global, {&global, &local});
  fusion.calibrate(calibration, table);
  const auto& cal_global = fusion.calibrations()[0];
  EXPECT_NEAR(cal_global.predict(std::cos(5 * kPi / 180)), 1.0, 1e-6);
  EXPECT_NEAR(cal_global.predict(std::cos(35 * kPi / 180)), 0.0, 1e-6);
  EXPECT_NEAR(fusion.calibrations()[1].predict(10.0), 1.0, 1e-12);
  EXPECT_NEAR(fusion.calibrations()[1].predict(1.0), 0.0, 1e-12);
  // q1 (against train + val): a2 (20deg) -> global (cos20 - cos35) / (cos5 - cos35) = 0.6809,
  //     local 1 -> fused 0.8404; a3 (25deg) -> 0.4923, local 1 -> 0.7461; b1 (10deg) -> 0.9357,
  //     local 0 -> 0.4678; b3 (15deg) -> 0.8290, local 0 -> 0.4145. Answer A, confidence 0.8404.
  const auto fused = fusion.predict(query, table);
  EXPECT_EQ(fused[0].identity, "D/A");
  const double c5 = std::cos(5 * kPi / 180), c20 = std::cos(20 * kPi / 180), c35 = std::cos(35 * kPi / 180);
  EXPECT_NEAR(fused[0].confidence, ((c20 - c35) / (c5 - c35) + 1.0) / 2.0, 1e-5);
  // q2: b2 (2deg) -> global 1, local 1 -> B with confidence 1.
  EXPECT_EQ(fused[1].identity, "D/B");
  EXPECT_NEAR(fused[1].confidence, 1.0, 1e-6);

  // Shortlist of 1: only b1 is a candidate for q1, so the local evidence for a2 cannot count;
  // every other pair scores -inf.
  WildFusion top1({"top1", 1, true}, &global, {&global, &local});
  top1.calibrate(calibration, table);
  const auto s = top1.scores(query, table);
  ASSERT_EQ(s.database_rows.size(1), 1);
  EXPECT_EQ(toy.rows.image_id[s.database_rows[0][0].item<int64_t>()], "b1");
  EXPECT_EQ(top1.predict(query, table)[0].identity, "D/B");
  // The real database is train + val: q1's top 4 are b1 (10deg), b3 (15deg), a2 and b2 (20deg).
  WildFusion top4({"top4", 4, true}, &global, {&global, &local});
  top4.calibrate(calibration, table);
  const auto s4 = top4.scores(query, table);
  EXPECT_TRUE(std::isfinite(s4.fused[0][3].item<float>()));
  EXPECT_EQ(top4.predict(query, table)[0].identity, "D/A");
}

TEST(WildFusion, QueriesOnlyMeetDatabaseImagesOfTheirDataset) {
  EmbeddingRows rows;
  rows.push_back("d1", "X", "one", "train", "", 0);
  rows.push_back("d2", "Y", "two", "train", "", 1);
  rows.push_back("v1", "X", "one", "val", "", 0);
  rows.push_back("v2", "Y", "two", "val", "", 1);
  rows.push_back("q", "", "two", "query", "", -1);
  // q equals d1 exactly but is in dataset two: it must be matched to d2.
  const auto features = at::tensor({1.0f, 0.0f, 0.0f, 1.0f, 1.0f, 0.0f, 0.0f, 1.0f, 1.0f, 0.0f}).view({5, 2});
  const RowTable table(rows);
  GlobalPipeline global("g", features, ShortlistOptions{});
  const auto list = global.shortlist(query_scenario(table, no_withholding()), table, 5, true);
  // d2 and v2 (rows 1 and 3), the database images of "two", in either order; then nothing.
  EXPECT_EQ(list.index[0][0].item<int64_t>() + list.index[0][1].item<int64_t>(), 4);
  EXPECT_EQ(list.index[0][2].item<int64_t>(), -1);
  EXPECT_TRUE(std::isinf(list.score[0][2].item<float>()));
  const auto mixed = global.shortlist(query_scenario(table, no_withholding()), table, 5, false);
  EXPECT_EQ(mixed.index[0][0].item<int64_t>(), 0);  // d1 once datasets are mixed
}

class WildFusionRun : public data::testing::TempDirTest {};

TEST_F(WildFusionRun, LocalPipelinesPlugInThroughTheFactoryAndArePairCached) {
  Toy toy;
  const fs::path file = dir_ / "E.h5";
  EmbeddingsWriter writer(file, toy.rows, "toy-shards");
  writer.add_model("angles", ModelAttributes{}, toy.features);
  const std::string yaml =
      "calibration: {unknown_fraction: 0}\n"
      "pipelines:\n"
      "  - {name: g, type: global, models: all}\n"
      "  - {name: matcher, type: local, extractor: truth, max_keypoints: 7}\n"
      "components:\n"
      "  - {name: wf1, type: wildfusion, pipelines: [g, matcher], shortlist: all}\n"
      "  - {name: wf2, type: wildfusion, pipelines: [g, matcher], shortlist: 3}\n"
      "output: wf1\n";
  RunOptions run;
  run.config = parse_identify_config(yaml, "toy.yaml", {});
  run.embeddings = file;
  run.out = dir_ / "out";
  size_t scored = 0;
  LocalPipelineSpec seen;
  run.scorer_factory = [&](const LocalPipelineSpec& spec) {
    seen = spec;
    return std::make_unique<TruthScorer>(toy.who, &scored);
  };
  const auto summary = run_identify(run);
  EXPECT_EQ(seen.name, "matcher");
  EXPECT_EQ(seen.options.at("extractor"), "truth");
  EXPECT_EQ(seen.options.at("max_keypoints"), "7");
  EXPECT_EQ(seen.shards, "toy-shards");
  // wf1 scores all 3 x 5 calibration pairs and all 2 x 8 query pairs (the database is train +
  // val); wf2's shortlists are subsets of those and come from the cache.
  EXPECT_EQ(scored, 31u);
  EXPECT_EQ(summary.stages[0].query[0].identity, "D/A");
  EXPECT_EQ(summary.answers.size(), 2u);

  // Without a factory the local pipeline is refused by name.
  run.scorer_factory = nullptr;
  try {
    run_identify(run);
    ADD_FAILURE() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("local pipeline 'matcher' needs a local matcher"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace wildreid::identify
