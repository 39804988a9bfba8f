// `trainer embed` end to end on one small `trainer synth` set: a tiny ConvNeXt trained briefly by
// `trainer train` (its weights carry the label names), then embed -> identify -> evaluate, against
// the same pipeline with the untrained model; plus what embed promises on its own: rows in record
// order with the vectors a direct forward gives, logits with label names, flip TTA, the three
// weights formats, resumability per model, and 2 ranks under mpirun writing what 1 rank writes.
// Runs the real binaries from $WILDREID_BIN (CTest sets it), mpirun and $WILDREID_PYTHON (h5py).
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

#include "checkpoints/label_names.h"
#include "checkpoints/retention.h"
#include "checkpoints/safetensors.h"
#include "checkpoints/training_state.h"
#include "data/manifest.h"
#include "data/sample_transform.h"
#include "data/shard_reader.h"
#include "identify/embeddings_file.h"
#include "models/layers.h"
#include "models/model_weights.h"
#include "models/registry.h"

namespace fs = std::filesystem;
using namespace wildreid;

namespace {

fs::path bin_dir() { return std::getenv("WILDREID_BIN") ? std::getenv("WILDREID_BIN") : "build/bin"; }
std::string trainer() { return (bin_dir() / "trainer").string(); }
std::string python() {
  const char* env = std::getenv("WILDREID_PYTHON");
  return env && *env ? env : WILDREID_PYTHON_DEFAULT;
}
const char* const kMpirun = "mpirun -np 2 --oversubscribe --allow-run-as-root ";

struct CommandResult {
  int code = -1;
  std::string output;
};

CommandResult run(const std::string& command) {
  CommandResult r;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while (pipe && (n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
  const int status = pipe ? ::pclose(pipe) : -1;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  return r;
}

fs::path g_root;  // shared by every test of the suite

fs::path shards() { return g_root / "shards"; }
fs::path run_dir() { return g_root / "run"; }
fs::path untrained() { return g_root / "untrained.safetensors"; }
fs::path run_pth() { return g_root / "run_weights.pth"; }  // the run's weights, torch.save by Python

std::string embed_command(const fs::path& out, const std::string& models, const std::string& extra = "") {
  return trainer() + " embed --quiet --shards " + shards().string() + " --out " + out.string() + " " + models +
         " --threads 1 --workers 1 --batch-size 16 " + extra;
}

// The embedding of record `index` computed directly: record bytes -> eval transform -> model.
at::Tensor direct_embedding(models::Backbone& model, const data::ShardSet& set, size_t index, bool flip) {
  data::TransformOptions t;
  t.train = false;
  t.size = 64;
  at::Tensor x = at::empty({1, 3, 64, 64}, at::kFloat);
  data::SampleRng rng(0);
  const auto bytes = set.read_bytes(index);
  data::transform_sample(bytes, t, rng, x.data_ptr());
  at::NoGradGuard no_grad;
  at::Tensor e = model.forward_embedding(model.forward_features(x));
  if (flip) e = (e + model.forward_embedding(model.forward_features(x.flip({3})))) * 0.5;
  return e[0];
}

std::shared_ptr<models::Backbone> trained_model() {
  auto weights = checkpoints::load_safetensors(run_dir() / "best.safetensors");
  models::ModelOptions o;
  o.img_size = 64;
  o.init_weights = false;
  o.num_classes = weights.at("head.fc.weight").size(0);
  auto model = models::create_model("convnext_atto", o);
  models::load_backbone_weights(*model, weights, {}, "best.safetensors");
  model->eval();
  return model;
}

class Embed : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (fs::temp_directory_path() / "wildreid-embed-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    g_root = pattern;
    CommandResult r = run(trainer() + " synth --quiet --seed 3 --identities 4 --unknowns 2 --images 8 --size 64 --threads 2 "
                "--out " + (g_root / "synth").string());
    ASSERT_EQ(r.code, 0) << r.output;
    r = run(trainer() + " pack --quiet --threads 2 --metadata " + (g_root / "synth/metadata.csv").string() +
            " --out " + shards().string());
    ASSERT_EQ(r.code, 0) << r.output;
    r = run(trainer() + " train --config " WILDREID_SOURCE_DIR "/configs/tiny_cpu.yaml --set data.shards=" +
            shards().string() + " --set run.dir=" + run_dir().string() +
            " --set train.epochs=12 --set train.micro_batch=12 --set train.log_every=1000 --set run.threads=2");
    ASSERT_EQ(r.code, 0) << r.output;
    // The same architecture at its initialisation: the untrained baseline.
    at::manual_seed(42);
    models::ModelOptions o;
    o.img_size = 64;
    o.num_classes = 0;
    auto model = models::create_model("convnext_atto", o);  // timm's init
    models::export_backbone(*model, untrained());
    r = run("'" + python() + "' -c \"import sys, torch; from safetensors.torch import load_file; "
            "torch.save({'model': load_file(sys.argv[1]), 'epoch': 12}, sys.argv[2])\" " +
            (run_dir() / "best.safetensors").string() + " " + run_pth().string());
    ASSERT_EQ(r.code, 0) << r.output;
  }
  static void TearDownTestSuite() {
    if (!::testing::UnitTest::GetInstance()->Failed()) checkpoints::remove_tree(g_root);
    else std::fprintf(stderr, "embed test: files kept in %s\n", g_root.c_str());
  }
};

}  // namespace

TEST_F(Embed, TrainingWritesLabelNamesIntoEveryWeightsFile) {
  const auto manifest = data::read_manifest(shards() / "manifest.json");
  std::vector<checkpoints::LabelName> want;
  for (const auto& l : manifest.labels) want.push_back({l.dataset, l.identity});
  ASSERT_EQ(want.size(), 12u);
  const fs::path best = run_dir() / "best.safetensors";
  EXPECT_EQ(checkpoints::read_label_names(checkpoints::SafetensorsFile(best).metadata(), best.string()), want);
  const auto latest = checkpoints::latest_checkpoint(run_dir() / "checkpoints");
  ASSERT_TRUE(latest);
  EXPECT_EQ(checkpoints::read_label_names(checkpoints::load_training_state(*latest).model_metadata, latest->string()),
            want);
}

TEST_F(Embed, RowsInRecordOrderWithDirectForwardVectorsLogitsAndLabelNames) {
  const fs::path out = g_root / "plain.h5";
  CommandResult r = run(embed_command(out, "--model " + run_dir().string()));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("logits over 12 labels"), std::string::npos) << r.output;
  const auto e = identify::read_embeddings(out);
  auto set = data::ShardSet::open(shards());
  // Default splits of an AnimalCLEF set: train, val, query = every record, in record order.
  ASSERT_EQ(e.rows.size(), set->size());
  for (size_t i = 0; i < set->size(); ++i) {
    EXPECT_EQ(e.rows.image_id[i], set->info(i).image_id);
    EXPECT_EQ(e.rows.split[i], set->info(i).split);
    EXPECT_EQ(e.rows.label[i], set->info(i).label);
  }
  const auto& m = e.model("run");
  EXPECT_EQ(m.attrs.arch, "convnext_atto");
  EXPECT_EQ(m.attrs.img_size, 64);
  EXPECT_EQ(m.attrs.resize, "crop");
  ASSERT_EQ(m.embedding.size(0), static_cast<int64_t>(set->size()));
  ASSERT_EQ(m.logits.size(1), 12);
  ASSERT_EQ(m.label_names.size(), 12u);
  const auto manifest = data::read_manifest(shards() / "manifest.json");
  for (const auto& l : manifest.labels) EXPECT_EQ(m.label_names[l.label], l.dataset + "/" + l.identity);
  auto model = trained_model();
  for (size_t i : {size_t(0), set->size() / 2, set->size() - 1}) {
    EXPECT_TRUE(at::allclose(m.embedding[i], direct_embedding(*model, *set, i, false), 1e-4, 1e-4)) << "row " << i;
  }
  // The trained head recognises most training images.
  int64_t right = 0, total = 0;
  for (size_t i : set->split_indices("train")) {
    right += m.logits[i].argmax().item<int64_t>() == set->info(i).label;
    ++total;
  }
  EXPECT_GT(static_cast<double>(right) / static_cast<double>(total), 0.5) << right << "/" << total;
}

TEST_F(Embed, FlipTtaAveragesWithTheMirroredImage) {
  const fs::path out = g_root / "flip.h5";
  CommandResult r = run(embed_command(out, "--model " + run_dir().string(), "--flip-tta --split query"));
  ASSERT_EQ(r.code, 0) << r.output;
  const auto e = identify::read_embeddings(out);
  auto set = data::ShardSet::open(shards());
  const auto query = set->split_indices("query");
  ASSERT_EQ(e.rows.size(), query.size());
  const auto& m = e.model("run");
  EXPECT_TRUE(m.attrs.flip_tta);
  auto model = trained_model();
  for (size_t k : {size_t(0), query.size() - 1}) {
    EXPECT_TRUE(at::allclose(m.embedding[k], direct_embedding(*model, *set, query[k], true), 1e-4, 1e-4));
    EXPECT_FALSE(at::allclose(m.embedding[k], direct_embedding(*model, *set, query[k], false), 1e-4, 1e-4));
  }
}

// A .pth of the run's weights (torch.save by Python) and the bare-weights options embed exactly
// what the run directory gives.
TEST_F(Embed, TorchSaveWeightsEmbedLikeTheRunDirectory) {
  const fs::path pth = run_pth();
  CommandResult r = run(embed_command(g_root / "formats.h5",
                        "--model " + run_dir().string() + " --model frompth=" + pth.string() +
                            ",arch=convnext_atto,img-size=64 --weights " + (run_dir() / "best.safetensors").string() +
                            " --arch convnext_atto --img-size 64 --name bare",
                        "--split val"));
  ASSERT_EQ(r.code, 0) << r.output;
  const auto e = identify::read_embeddings(g_root / "formats.h5");
  const auto& a = e.model("run");
  for (const char* name : {"frompth", "bare"}) EXPECT_TRUE(at::equal(a.embedding, e.model(name).embedding)) << name;
  // The safetensors file carries the label names, the .pth does not: logits only for the former.
  EXPECT_TRUE(at::equal(a.logits, e.model("bare").logits));
  EXPECT_EQ(e.model("bare").label_names, a.label_names);
  EXPECT_FALSE(e.model("frompth").logits.defined());
}

// `trainer train` starts from a .pth as from a safetensors file (init.from, new head): after one
// step at a negligible learning rate the backbone is still the file's.
TEST_F(Embed, TrainInitFromTorchSaveFile) {
  const fs::path dir = g_root / "from_pth";
  CommandResult r = run(trainer() + " train --config " WILDREID_SOURCE_DIR "/configs/tiny_cpu.yaml --set data.shards=" +
              shards().string() + " --set run.dir=" + dir.string() + " --set init.from=" + run_pth().string() +
              " --set train.max_steps=1 --set optim.lr=1e-12 --set train.validate=false --set run.threads=2");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto latest = checkpoints::latest_checkpoint(dir / "checkpoints");
  ASSERT_TRUE(latest);
  const auto got = checkpoints::load_safetensors(*latest / "model.safetensors");
  const auto source = checkpoints::load_safetensors(run_dir() / "best.safetensors");
  const auto fresh = checkpoints::load_safetensors(untrained());
  for (const char* name : {"stem.0.weight", "stages.3.blocks.1.mlp.fc2.weight", "head.norm.weight"}) {
    EXPECT_TRUE(at::allclose(got.at(name), source.at(name), 1e-6, 1e-6)) << name;
    EXPECT_FALSE(at::allclose(got.at(name), fresh.at(name), 1e-3, 1e-3)) << name;
  }
}

TEST_F(Embed, ResumesPerModel) {
  const fs::path out = g_root / "resume.h5";
  const std::string both = "--model " + run_dir().string() + " --model untrained=" + untrained().string() +
                           ",arch=convnext_atto,img-size=64";
  CommandResult r = run(embed_command(out, "--model " + run_dir().string(), "--split val"));
  ASSERT_EQ(r.code, 0) << r.output;
  const at::Tensor first = identify::read_embeddings(out).model("run").embedding.clone();
  r = run(embed_command(out, both, "--split val"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("run: already complete"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("untrained: already complete"), std::string::npos) << r.output;
  auto e = identify::read_embeddings(out);
  EXPECT_TRUE(at::equal(e.model("run").embedding, first));
  EXPECT_EQ(e.model_names().size(), 2u);
  // An interrupted model (complete flag not set) is embedded again; the complete one is not.
  r = run("'" + python() + "' -c \"import h5py, sys; f = h5py.File(sys.argv[1], 'r+'); "
          "f['models/untrained'].attrs['complete'] = 0\" " + out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  r = run(embed_command(out, both, "--split val"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("run: already complete"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("untrained: "), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("untrained: already complete"), std::string::npos) << r.output;
  EXPECT_EQ(identify::read_embeddings(out).model_names().size(), 2u);
  // Other rows in the same file are refused, naming the file.
  r = run(embed_command(out, "--model " + run_dir().string(), "--split query"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find(out.string()), std::string::npos) << r.output;
}

TEST_F(Embed, TwoRanksUnderMpirunWriteWhatOneRankWrites) {
  const std::string models = "--model " + run_dir().string() + " --model untrained=" + untrained().string() +
                             ",arch=convnext_atto,img-size=64";
  CommandResult one = run(embed_command(g_root / "one.h5", models));
  ASSERT_EQ(one.code, 0) << one.output;
  CommandResult two = run(kMpirun + embed_command(g_root / "two.h5", models));
  ASSERT_EQ(two.code, 0) << two.output;
  EXPECT_NE(two.output.find("on 2 rank(s)"), std::string::npos) << two.output;
  const auto a = identify::read_embeddings(g_root / "one.h5"), b = identify::read_embeddings(g_root / "two.h5");
  EXPECT_EQ(a.rows.image_id, b.rows.image_id);
  EXPECT_EQ(a.rows.split, b.rows.split);
  EXPECT_EQ(a.rows.identity, b.rows.identity);
  EXPECT_EQ(a.rows.label, b.rows.label);
  ASSERT_EQ(b.model_names(), a.model_names());
  for (const auto& name : a.model_names()) {
    EXPECT_TRUE(at::allclose(a.model(name).embedding, b.model(name).embedding, 1e-5, 1e-5)) << name;
    EXPECT_EQ(a.model(name).logits.defined(), b.model(name).logits.defined()) << name;
    if (a.model(name).logits.defined())
      EXPECT_TRUE(at::allclose(a.model(name).logits, b.model(name).logits, 1e-5, 1e-5)) << name;
    EXPECT_EQ(a.model(name).label_names, b.model(name).label_names);
  }
}

// The end-to-end claim: trained model -> embed -> identify (configs/identify_global.yaml)
// -> evaluate scores higher than the same pipeline with the untrained model.
TEST_F(Embed, TrainedModelBeatsUntrainedThroughIdentifyAndEvaluate) {
  auto score_of = [](const std::string& name, const std::string& model) {
    const fs::path e = g_root / (name + ".h5"), dir = g_root / ("identify_" + name);
    CommandResult r = run(embed_command(e, "--model " + model));
    EXPECT_EQ(r.code, 0) << r.output;
    r = run(trainer() + " identify --quiet --config " WILDREID_SOURCE_DIR "/configs/identify_global.yaml --embeddings " +
            e.string() + " --out " + dir.string() + " --threads 2");
    EXPECT_EQ(r.code, 0) << r.output;
    r = run(trainer() + " evaluate --solution " + (g_root / "synth/solution.csv").string() + " --submission " +
            (dir / "submission.csv").string());
    EXPECT_EQ(r.code, 0) << r.output;
    std::smatch m;
    const std::regex score_line("\\nscore ([0-9.]+)");
    if (!std::regex_search(r.output, m, score_line)) {
      ADD_FAILURE() << "no score line in:\n" << r.output;
      return -1.0;
    }
    std::printf("%s: %s", name.c_str(), r.output.c_str());
    return std::stod(m[1]);
  };
  const double trained_score = score_of("trained", run_dir().string());
  const double untrained_score =
      score_of("untrained", "untrained=" + untrained().string() + ",arch=convnext_atto,img-size=64");
  std::printf("competition score: trained %.4f, untrained %.4f\n", trained_score, untrained_score);
  EXPECT_GT(trained_score, untrained_score + 0.05);
}

TEST_F(Embed, BadModelsAreNamed) {
  CommandResult r = run(embed_command(g_root / "bad.h5", "--model " + (g_root / "no_such_run").string()));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("no_such_run"), std::string::npos) << r.output;
  r = run(embed_command(g_root / "bad.h5", "--model w=" + untrained().string()));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("arch="), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(g_root / "bad.h5"));
}
