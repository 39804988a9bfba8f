// StandardScaler and PCA against scikit-learn (mean, scale, the number of components a variance
// fraction keeps, and the subspace they span), on both routes (covariance when rows >= features,
// Gram matrix otherwise); and the embedding MLP learning separable identities with early stopping.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "identify/embedding_mlp.h"
#include "identify/features.h"
#include "identify/pca.h"
#include "identify/standard_scaler.h"
#include "identify/synthetic_embeddings.h"
#include "tests/data/data_test_util.h"

namespace wildreid::identify {
namespace {

std::vector<std::vector<double>> rows_of(const at::Tensor& x) {
  std::vector<std::vector<double>> out;
  const auto xd = x.to(at::kDouble).contiguous();
  for (int64_t i = 0; i < xd.size(0); ++i)
    out.emplace_back(xd[i].data_ptr<double>(), xd[i].data_ptr<double>() + xd.size(1));
  return out;
}

TEST(ScalerAndPca, MatchScikitLearnOnBothRoutes) {
  at::manual_seed(3);
  // Rank-r signal with a decaying spectrum, a little noise, an offset and uneven feature scales.
  // Full eigendecomposition: 300 x 40 (covariance) and 30 x 60 (Gram); few components of a large
  // matrix, found by subspace iteration: 400 x 200 (covariance) and 150 x 600 (Gram).
  const auto make = [](int64_t n, int64_t d, int64_t r) {
    const auto spectrum = at::pow(at::full({r}, 0.8), at::arange(r, at::kFloat));
    const auto signal = at::mm(at::randn({n, r}) * spectrum, at::randn({r, d}));
    return (signal + 0.01 * at::randn({n, d})) * at::linspace(0.5, 3, d) + at::linspace(-2, 2, d);
  };
  const std::vector<std::pair<at::Tensor, double>> problems = {
      {make(300, 40, 40), 0.99}, {make(30, 60, 60), 0.9}, {make(400, 200, 12), 0.99}, {make(150, 600, 8), 0.99}};
  nlohmann::json input = nlohmann::json::array();
  for (const auto& [x, fraction] : problems) input.push_back({{"x", rows_of(x)}, {"fraction", fraction}});
  const auto dir = data::testing::make_temp_dir("pca");
  std::ofstream(dir / "in.json") << input.dump();
  const auto run = data::testing::run_command(std::string("'") + WILDREID_PYTHON_EXE +
                                              "' tests/identify/pca_oracle.py < " + data::testing::quoted(dir / "in.json"));
  data::remove_tree(dir);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto expected = nlohmann::json::parse(run.output);
  for (size_t k = 0; k < problems.size(); ++k) {
    const auto& [x, fraction] = problems[k];
    StandardScaler scaler;
    scaler.fit(x);
    const auto want_mean = at::tensor(expected[k].at("mean").get<std::vector<double>>(), at::kDouble);
    const auto want_scale = at::tensor(expected[k].at("scale").get<std::vector<double>>(), at::kDouble);
    EXPECT_TRUE(at::allclose(scaler.mean().to(at::kDouble), want_mean, 1e-4, 1e-5)) << "problem " << k;
    EXPECT_TRUE(at::allclose(scaler.scale().to(at::kDouble), want_scale, 1e-4, 1e-5)) << "problem " << k;
    Pca pca;
    pca.fit(scaler.transform(x), fraction);
    EXPECT_EQ(pca.components(), expected[k].at("components").get<int64_t>()) << "problem " << k;
    EXPECT_NEAR(pca.explained_fraction(), expected[k].at("explained").get<double>(), 1e-4) << "problem " << k;
    // Same subspace: each of scikit-learn's components keeps its unit length when projected on ours.
    std::vector<double> flat;
    for (const auto& row : expected[k].at("vectors"))
      for (const auto& v : row) flat.push_back(v.get<double>());
    const auto theirs = at::tensor(flat, at::kDouble).view({pca.components(), -1}).to(at::kFloat);  // [k, d]
    const auto lengths = at::mm(theirs, pca.basis()).norm(2, {1});
    EXPECT_TRUE(at::allclose(lengths, at::ones_like(lengths), 1e-3, 1e-3)) << "problem " << k << ": " << lengths;
  }
}

TEST(EmbeddingMlp, LearnsSeparableIdentitiesAndStopsEarly) {
  at::set_num_threads(1);  // tiny layers: threads only add synchronisation on a busy machine
  SyntheticEmbeddingsOptions o;
  o.datasets = 1;
  o.identities = 8;
  o.unknowns = 0;
  o.database_images = 96;
  o.query_images = 16;
  o.latent = 8;
  o.dim = 16;
  o.photo_noise = 0.3;
  const auto synthetic = make_synthetic_embeddings(o);
  Embeddings e;
  e.rows = synthetic.rows;
  e.models = synthetic.models;
  const RowTable table(e.rows);
  const auto scenario = query_scenario(table, ScenarioOptions{});
  FeatureOptions f;
  f.models = {"model0"};
  f.scaler = true;
  f.pca = 0.99;
  f.normalize = false;
  const auto features = build_features(e, f, scenario.database);
  MlpOptions m;
  m.hidden = {64, 48, 32, 24, 16};
  m.lr = 3e-3;
  m.epochs = 300;
  m.patience = 8;
  m.batch_size = 16;
  m.val_fraction = 0.25;
  EmbeddingMlp mlp;
  mlp.train(features, scenario, table, m);
  EXPECT_EQ(mlp.report().classes, 8);
  EXPECT_GT(mlp.report().val_rows, 0);
  EXPECT_LT(mlp.report().epochs_run, 300) << "early stopping never triggered";
  EXPECT_LE(mlp.report().best_epoch + m.patience, mlp.report().epochs_run);
  EXPECT_GT(mlp.report().best_val_accuracy, 0.8);
  const auto predictions = mlp.predict(features, scenario, table, true);
  int right = 0;
  for (size_t i = 0; i < predictions.size(); ++i) {
    const std::string& id = e.rows.image_id[scenario.queries[i]];  // "<identity>_<photo>"
    right += predictions[i].identity == identity_key("Synth0", id.substr(0, id.rfind('_')));
    EXPECT_GT(predictions[i].confidence, 0.0);
    EXPECT_LE(predictions[i].confidence, 1.0);
  }
  EXPECT_GE(right, 13) << "of 16 queries";
}

}  // namespace
}  // namespace wildreid::identify
