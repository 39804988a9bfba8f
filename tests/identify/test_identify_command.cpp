// `trainer identify` end to end on a synthetic embeddings file with a known answer, scored with
// `trainer evaluate`: the tuned threshold beats fixed bad ones, the output files follow their
// documented layout, the demo recipe (WildFusion + classifier + MLP + rule fusion) runs, and bad
// input is refused naming the file/line.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "data/csv_reader.h"
#include "identify/synthetic_embeddings.h"
#include "tests/data/data_test_util.h"

namespace wildreid::identify {
namespace {

namespace fs = std::filesystem;
using data::testing::quoted;
using data::testing::run_trainer;

class IdentifyCommand : public data::testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    SyntheticEmbeddingsOptions o;
    o.datasets = 2;
    o.identities = 12;
    o.unknowns = 5;
    o.database_images = 120;  // 5 per known individual
    o.query_images = 44;      // 1 per known, 2 per unknown individual
    o.unknown_share = 20.0 / 44.0;
    o.latent = 16;
    o.dim = 24;
    o.models = 2;
    o.photo_noise = 0.7;
    o.logits = true;
    synthetic_ = make_synthetic_embeddings(o);
    embeddings_ = dir_ / "E.h5";
    write_synthetic_embeddings(synthetic_, embeddings_.string());
    std::ofstream(dir_ / "solution.csv") << synthetic_.solution_csv;
  }
  data::testing::RunResult identify(const std::string& out, const std::string& extra,
                                    const std::string& config = "configs/identify_global.yaml") {
    return run_trainer("identify --quiet --threads 1 --config " + config + " --embeddings " + quoted(embeddings_) +
                       " --out " + quoted(dir_ / out) + " " + extra);
  }
  double score(const std::string& out) {
    const auto r = run_trainer("evaluate --json --solution " + quoted(dir_ / "solution.csv") + " --submission " +
                               quoted(dir_ / out / "submission.csv"));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return nlohmann::json::parse(r.output).at("score").get<double>();
  }
  SyntheticEmbeddings synthetic_;
  fs::path embeddings_;
};

TEST_F(IdentifyCommand, TunedThresholdBeatsFixedBadOnesAndFilesFollowTheirLayout) {
  const auto tuned = identify("tuned", "--solution " + quoted(dir_ / "solution.csv"));
  ASSERT_EQ(tuned.exit_code, 0) << tuned.output;
  EXPECT_NE(tuned.output.find("each stage at its own calibration-tuned threshold"), std::string::npos) << tuned.output;
  const auto reject_all = identify("high", "--set threshold.mode=fixed --set threshold.value=5");
  ASSERT_EQ(reject_all.exit_code, 0) << reject_all.output;
  const auto accept_all = identify("low", "--set threshold.mode=fixed --set threshold.value=-1");
  ASSERT_EQ(accept_all.exit_code, 0) << accept_all.output;
  const double s_tuned = score("tuned"), s_high = score("high"), s_low = score("low");
  EXPECT_GT(s_tuned, 0.6);
  EXPECT_DOUBLE_EQ(s_high, 0.0) << "everything new_individual: BAKS 0";
  EXPECT_DOUBLE_EQ(s_low, 0.0) << "nothing new_individual: BAUS 0";
  EXPECT_GT(s_tuned, s_high);

  // submission.csv: every query once, in row order.
  const auto submission = data::read_csv_file(dir_ / "tuned" / "submission.csv");
  EXPECT_EQ(submission.header, (std::vector<std::string>{"image_id", "identity"}));
  std::vector<std::string> queries;
  for (size_t i = 0; i < synthetic_.rows.size(); ++i)
    if (synthetic_.rows.split[i] == "query") queries.push_back(synthetic_.rows.image_id[i]);
  ASSERT_EQ(submission.rows.size(), queries.size());
  size_t new_individuals = 0;
  for (size_t i = 0; i < queries.size(); ++i) {
    EXPECT_EQ(submission.rows[i][0], queries[i]);
    new_individuals += submission.rows[i][1] == "new_individual";
  }
  EXPECT_GT(new_individuals, 0u);
  EXPECT_LT(new_individuals, queries.size());
  // predictions.csv: each stage's identity and confidence, then output, threshold, identity.
  const auto predictions = data::read_csv_file(dir_ / "tuned" / "predictions.csv");
  EXPECT_EQ(predictions.header, (std::vector<std::string>{"image_id", "dataset", "global_identity", "global_confidence",
                                                          "output", "threshold", "identity"}));
  ASSERT_EQ(predictions.rows.size(), queries.size());
  for (size_t i = 0; i < queries.size(); ++i) {
    EXPECT_EQ(predictions.rows[i][6], submission.rows[i][1]);
    const double confidence = std::stod(predictions.rows[i][4]), threshold = std::stod(predictions.rows[i][5]);
    EXPECT_EQ(predictions.rows[i][6] == "new_individual", confidence < threshold) << predictions.where(i);
  }
  const auto summary = nlohmann::json::parse(data::testing::read_text(dir_ / "tuned" / "summary.json"));
  EXPECT_EQ(summary.at("output"), "global");
  EXPECT_EQ(summary.at("queries"), queries.size());
  EXPECT_TRUE(summary.at("threshold").at("tuned").get<bool>());
  EXPECT_GT(summary.at("threshold").at("calibration_score").get<double>(), 0.5);
}

TEST_F(IdentifyCommand, DemoRecipeFusesWildFusionClassifierAndMlp) {
  // Synthetic embeddings have no images: the recipe's SIFT pipeline is left out of WildFusion (it is
  // built only when a component uses it; scripts/demo and tests/matching run it on real shards).
  const auto run = identify("demo", "--set components.mlp.epochs=25 --set calibration.unknown_fraction=0.4 "
                            "--set components.wildfusion.pipelines=[global] "
                            "--solution " + quoted(dir_ / "solution.csv"),
                            "configs/identify_demo.yaml");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto predictions = data::read_csv_file(dir_ / "demo" / "predictions.csv");
  for (const auto* column : {"wildfusion_identity", "classifier_confidence", "mlp_identity", "similarity_vs_mlp_identity",
                             "final_confidence", "threshold"})
    EXPECT_GE(predictions.column(column), 0) << column;
  EXPECT_GT(score("demo"), 0.6) << run.output;
  // Per-dataset thresholds: one per dataset in the summary.
  const auto per_dataset = identify("per_dataset", "--set threshold.per_dataset=true");
  ASSERT_EQ(per_dataset.exit_code, 0) << per_dataset.output;
  const auto summary = nlohmann::json::parse(data::testing::read_text(dir_ / "per_dataset" / "summary.json"));
  EXPECT_EQ(summary.at("threshold").at("per_dataset").size(), 2u);
}

TEST_F(IdentifyCommand, BadInputIsRefusedNamingTheFileAndLine) {
  std::ofstream(dir_ / "bad.yaml") << "pipelines:\n  - name: g\n    modles: all\n";
  const auto typo = identify("x", "", quoted(dir_ / "bad.yaml"));
  EXPECT_NE(typo.exit_code, 0);
  EXPECT_NE(typo.output.find("bad.yaml:3: unknown key 'modles' in pipeline"), std::string::npos) << typo.output;
  const auto missing = run_trainer("identify --config configs/identify_global.yaml --embeddings " +
                                   quoted(dir_ / "nope.h5") + " --out " + quoted(dir_ / "x"));
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.output.find((dir_ / "nope.h5").string()), std::string::npos) << missing.output;
  const auto whole = identify("seed", "", "configs/identify_seed.yaml");
  EXPECT_NE(whole.exit_code, 0);
  EXPECT_NE(whole.output.find("the calibration set takes all 120 database rows (calibration.first = 1000)"),
            std::string::npos)
      << whole.output;
  const auto seed = identify("seed", "--set calibration.first=40", "configs/identify_seed.yaml");
  EXPECT_NE(seed.exit_code, 0);
  EXPECT_NE(seed.output.find("no model 'megadescriptor'"), std::string::npos) << seed.output;
  const auto local = identify("seed", "--set calibration.first=40 --set pipelines.mega.models=model0 "
                              "--set components.convnext.model=model0",
                              "configs/identify_seed.yaml");
  EXPECT_NE(local.exit_code, 0);
  // Local matching is linked in: the seed's ALIKED + LightGlue pipelines want their published weights.
  EXPECT_NE(local.output.find("local pipeline 'aliked_lightglue_1'"), std::string::npos) << local.output;
  EXPECT_NE(local.output.find("aliked-n16.pth"), std::string::npos) << local.output;
  EXPECT_FALSE(fs::exists(dir_ / "seed" / "submission.csv"));
  const auto help = run_trainer("identify --help");
  for (const auto* option : {"--config", "--embeddings", "--out", "--set", "--solution", "--device", "--threads"})
    EXPECT_NE(help.output.find(option), std::string::npos) << option;
}

}  // namespace
}  // namespace wildreid::identify
