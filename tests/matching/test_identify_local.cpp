// `trainer identify` with local matching linked in, end to end on a `trainer synth` set: embed with
// an untrained tiny ConvNeXt (a weak global model, as a first run is), then identify with
// configs/identify_global.yaml and with configs/identify_sift.yaml (the same global pipeline fused
// with SIFT matching); scored with `trainer evaluate`, the fused run must beat the global one. The
// second SIFT run reuses the feature cache. Also `trainer match` on two photos of the set.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>

#include "models/layers.h"
#include "models/model_weights.h"
#include "models/registry.h"
#include "tests/data/data_test_util.h"

namespace wildreid::matching {
namespace {

namespace fs = std::filesystem;
using data::testing::quoted;
using data::testing::run_trainer;

fs::path g_root;

class IdentifyLocal : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_root = data::testing::make_temp_dir("identify-local");
    auto r = run_trainer("synth --quiet --seed 5 --identities 5 --unknowns 2 --images 6 --size 192 --threads 2 --out " +
                         quoted(g_root / "synth"));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    r = run_trainer("pack --quiet --threads 2 --metadata " + quoted(g_root / "synth/metadata.csv") + " --out " +
                    quoted(g_root / "shards"));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    at::manual_seed(7);
    models::ModelOptions o;
    o.img_size = 64;
    o.num_classes = 0;
    auto model = models::create_model("convnext_atto", o);  // timm's init
    models::export_backbone(*model, g_root / "untrained.safetensors");
    r = run_trainer("embed --quiet --threads 2 --workers 1 --batch-size 16 --shards " + quoted(g_root / "shards") +
                    " --out " + quoted(g_root / "E.h5") + " --model untrained=" +
                    (g_root / "untrained.safetensors").string() + ",arch=convnext_atto,img-size=64");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static void TearDownTestSuite() {
    if (!::testing::UnitTest::GetInstance()->Failed()) data::remove_tree(g_root);
    else std::fprintf(stderr, "identify-local test: files kept in %s\n", g_root.c_str());
  }
  static data::testing::RunResult identify(const std::string& config, const std::string& out) {
    return run_trainer("identify --quiet --threads 2 --config " WILDREID_SOURCE_DIR "/configs/" + config +
                       " --embeddings " + quoted(g_root / "E.h5") + " --out " + quoted(g_root / out));
  }
  static double score(const std::string& out) {
    const auto r = run_trainer("evaluate --json --solution " + quoted(g_root / "synth/solution.csv") +
                               " --submission " + quoted(g_root / out / "submission.csv"));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return nlohmann::json::parse(r.output).at("score").get<double>();
  }
};

TEST_F(IdentifyLocal, SiftFusionBeatsGlobalAloneAndReusesItsCache) {
  auto global = identify("identify_global.yaml", "global");
  ASSERT_EQ(global.exit_code, 0) << global.output;
  auto sift = identify("identify_sift.yaml", "sift");
  ASSERT_EQ(sift.exit_code, 0) << sift.output;
  const double s_global = score("global"), s_sift = score("sift");
  std::printf("competition score on the synth set: global alone %.4f, global + SIFT (WildFusion) %.4f\n", s_global,
              s_sift);
  EXPECT_GT(s_sift, s_global + 0.05);
  // The features live in the run's cache; a second run into the same folder extracts nothing.
  fs::path cache;
  for (const auto& e : fs::directory_iterator(g_root / "sift/cache/sift"))
    if (e.path().filename().string().rfind("local-features-", 0) == 0) cache = e.path();
  ASSERT_FALSE(cache.empty());
  auto parts = [&] {
    int n = 0;
    for (const auto& e : fs::directory_iterator(cache)) n += e.path().extension() == ".h5";
    return n;
  };
  const int before = parts();
  EXPECT_GE(before, 1);
  auto again = identify("identify_sift.yaml", "sift");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(parts(), before);
  EXPECT_DOUBLE_EQ(score("sift"), s_sift);
}

TEST_F(IdentifyLocal, MatchCommandDrawsAPairAndNamesBadInput) {
  fs::path a, b;
  for (const auto& e : fs::recursive_directory_iterator(g_root / "synth/images")) {
    if (e.path().extension() != ".jpg" || e.path().string().find("database") == std::string::npos) continue;
    if (a.empty()) a = e.path();
    else if (b.empty() && e.path().parent_path() == a.parent_path()) b = e.path();
  }
  ASSERT_FALSE(b.empty());
  const fs::path png = g_root / "pair.png";
  auto r = run_trainer("match --image " + quoted(a) + " --image " + quoted(b) + " --png " + quoted(png));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("score"), std::string::npos) << r.output;
  ASSERT_TRUE(fs::exists(png));
  const auto bytes = data::testing::read_bytes(png);
  ASSERT_GT(bytes.size(), 8u);
  EXPECT_EQ(bytes[1], 'P');  // PNG signature
  EXPECT_EQ(bytes[2], 'N');
  // By image_id from the shard set.
  r = run_trainer("match --shards " + quoted(g_root / "shards") + " --image " + a.stem().string() + " --image " +
                  b.stem().string() + " --option ransac=true");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = run_trainer("match --image " + quoted(a) + " --image " + quoted(g_root / "missing.jpg"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("missing.jpg"), std::string::npos) << r.output;
  r = run_trainer("match --image " + quoted(a) + " --image " + quoted(b) + " --extractor aliked");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("weights"), std::string::npos) << r.output;
  r = run_trainer("match --image " + quoted(a));
  EXPECT_NE(r.exit_code, 0);
  const auto help = run_trainer("match --help");
  for (const char* option : {"--image", "--png", "--shards", "--extractor", "--matcher", "lightglue_weights"})
    EXPECT_NE(help.output.find(option), std::string::npos) << option;
}

}  // namespace
}  // namespace wildreid::matching
