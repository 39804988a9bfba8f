// The embeddings file: what the writer stores is what the reader and plain h5py
// (tools/read_embeddings_h5py.py, quoted verbatim in docs/formats.md) read back; incomplete
// groups count as absent; a failed update leaves the previous file untouched; bad inputs are
// refused naming the file, the model and the dataset.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "identify/embeddings_file.h"
#include "tests/data/data_test_util.h"

namespace wildreid::identify {
namespace {

namespace fs = std::filesystem;
using data::testing::quoted;
using data::testing::read_text;
using data::testing::run_command;

class EmbeddingsFile : public data::testing::TempDirTest {
 protected:
  static EmbeddingRows rows() {
    EmbeddingRows r;
    r.push_back("a1", "LynxID2025_a", "LynxID2025", "train", "lynx", 0);
    r.push_back("a2", "LynxID2025_a", "LynxID2025", "val", "lynx", 0);
    r.push_back("b1", "LynxID2025_b", "LynxID2025", "train", "lynx", 1);
    r.push_back("q1", "", "LynxID2025", "query", "", -1);
    r.push_back("q2", "", "LynxID2025", "query", "", -1);
    return r;
  }
  static ModelAttributes attrs() {
    ModelAttributes a;
    a.arch = "convnext_atto";
    a.weights = "runs/x/best.safetensors";
    a.img_size = 64;
    a.resize = "squash";
    a.crop_pct = 0.875;
    a.flip_tta = true;
    return a;
  }
  std::string python(const std::string& script) {
    const fs::path file = dir_ / "script.py";
    std::ofstream(file) << script;
    const auto run = run_command(std::string("'") + WILDREID_PYTHON_EXE + "' " + quoted(file));
    EXPECT_EQ(run.exit_code, 0) << run.output;
    return run.output;
  }
  static std::string expect_error(const std::function<void()>& f) {
    try {
      f();
    } catch (const std::exception& e) {
      return e.what();
    }
    ADD_FAILURE() << "no error";
    return "";
  }
};

TEST_F(EmbeddingsFile, ReaderReturnsWhatTheWriterStored) {
  const fs::path path = dir_ / "E.h5";
  at::manual_seed(1);
  const auto emb = at::randn({5, 7});
  const auto logits = at::randn({5, 2});
  const auto emb_b = at::randn({5, 3}, at::kDouble);  // stored as float32
  {
    EmbeddingsWriter w(path, rows(), "shards/dir");
    EXPECT_TRUE(w.complete_models().empty());
    w.add_model("mega", attrs(), emb, logits, {"LynxID2025/LynxID2025_a", "LynxID2025/LynxID2025_b"});
    w.add_model("plain", ModelAttributes{}, emb_b);
    EXPECT_EQ(w.complete_models(), (std::vector<std::string>{"mega", "plain"}));
  }
  const auto e = read_embeddings(path);
  EXPECT_EQ(e.shards, "shards/dir");
  EXPECT_EQ(e.rows.image_id, rows().image_id);
  EXPECT_EQ(e.rows.identity, rows().identity);
  EXPECT_EQ(e.rows.split, rows().split);
  EXPECT_EQ(e.rows.species, rows().species);
  EXPECT_EQ(e.rows.label, rows().label);
  ASSERT_EQ(e.model_names(), (std::vector<std::string>{"mega", "plain"}));
  const auto& m = e.model("mega");
  EXPECT_TRUE(at::equal(m.embedding, emb));
  EXPECT_TRUE(at::equal(m.logits, logits));
  EXPECT_EQ(m.label_names[1], "LynxID2025/LynxID2025_b");
  EXPECT_EQ(m.attrs.arch, "convnext_atto");
  EXPECT_EQ(m.attrs.resize, "squash");
  EXPECT_EQ(m.attrs.img_size, 64);
  EXPECT_DOUBLE_EQ(m.attrs.crop_pct, 0.875);
  EXPECT_TRUE(m.attrs.flip_tta);
  EXPECT_FALSE(e.model("plain").logits.defined());
  EXPECT_TRUE(at::equal(e.model("plain").embedding, emb_b.to(at::kFloat)));
  // Only the models asked for are loaded.
  EXPECT_EQ(read_embeddings(path, {"plain"}).model_names(), std::vector<std::string>{"plain"});
}

TEST_F(EmbeddingsFile, FormatsDocQuotesTheH5pyScriptVerbatim) {
  const auto script = read_text("tools/read_embeddings_h5py.py");
  const auto doc = read_text("docs/formats.md");
  ASSERT_FALSE(script.empty());
  EXPECT_NE(doc.find("```python\n" + script + "```"), std::string::npos)
      << "docs/formats.md must contain tools/read_embeddings_h5py.py verbatim in a ```python block";
}

TEST_F(EmbeddingsFile, PlainH5pyReadsWhatTheWriterStored) {
  const fs::path path = dir_ / "E.h5";
  at::manual_seed(2);
  const auto emb = at::randn({5, 4});
  const auto logits = at::randn({5, 2});
  EmbeddingsWriter w(path, rows(), "shards/dir");
  w.add_model("mega", attrs(), emb, logits, {"LynxID2025/LynxID2025_a", "LynxID2025/LynxID2025_b"});
  const auto run = run_command(std::string("'") + WILDREID_PYTHON_EXE + "' tools/read_embeddings_h5py.py " +
                               quoted(path));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto j = nlohmann::json::parse(run.output);
  EXPECT_EQ(j.at("format"), "wildreid-embeddings");
  EXPECT_EQ(j.at("schema_version"), 1);
  EXPECT_EQ(j.at("rows").at("image_id").get<std::vector<std::string>>(), rows().image_id);
  EXPECT_EQ(j.at("rows").at("identity").get<std::vector<std::string>>(), rows().identity);
  EXPECT_EQ(j.at("rows").at("label").get<std::vector<int64_t>>(), rows().label);
  const auto& m = j.at("models").at("mega");
  EXPECT_TRUE(m.at("complete").get<bool>());
  EXPECT_EQ(m.at("arch"), "convnext_atto");
  EXPECT_EQ(m.at("img_size"), 64);
  EXPECT_EQ(m.at("flip_tta"), 1);
  EXPECT_DOUBLE_EQ(m.at("crop_pct").get<double>(), 0.875);
  const auto acc = emb.accessor<float, 2>();
  for (int i = 0; i < 5; ++i)
    for (int k = 0; k < 4; ++k) EXPECT_EQ(m.at("embedding")[i][k].get<float>(), acc[i][k]) << i << "," << k;
  EXPECT_EQ(m.at("logits")[4][1].get<float>(), logits[4][1].item<float>());
  EXPECT_EQ(m.at("label_names")[0], "LynxID2025/LynxID2025_a");
  // The script's nearest-neighbour line agrees with a cosine ranking done here.
  const auto unit = emb / emb.norm(2, 1, true);
  const auto db = unit.index({at::indexing::Slice(0, 3)});
  for (int q = 0; q < 2; ++q)
    EXPECT_EQ(m.at("nearest_database_row")[q].get<int64_t>(), at::matmul(db, unit[3 + q]).argmax().item<int64_t>());
}

TEST_F(EmbeddingsFile, IncompleteModelIsAbsentAndRefusedByName) {
  const fs::path path = dir_ / "E.h5";
  EmbeddingsWriter w(path, rows(), "s");
  w.add_model("good", ModelAttributes{}, at::ones({5, 2}));
  // An interrupted writer (here: h5py) left a group without complete = 1.
  python("import h5py\nwith h5py.File('" + path.string() +
         "', 'a') as f:\n  g = f['models'].create_group('half')\n  g['embedding'] = [[1.0]] * 5\n");
  const auto listing = list_embedding_models(path);
  ASSERT_EQ(listing.size(), 2u);
  EXPECT_EQ(listing[0].name, "good");
  EXPECT_TRUE(listing[0].complete);
  EXPECT_FALSE(listing[1].complete);
  EXPECT_EQ(read_embeddings(path).model_names(), std::vector<std::string>{"good"});
  const auto error = expect_error([&] { read_embeddings(path, {"half"}); });
  EXPECT_NE(error.find(path.string()), std::string::npos) << error;
  EXPECT_NE(error.find("'half' is incomplete"), std::string::npos) << error;
  EXPECT_NE(expect_error([&] { read_embeddings(path, {"nope"}); }).find("no model 'nope' (models: good, half (incomplete))"),
            std::string::npos);
  // embed re-does it: the incomplete group is replaced.
  EmbeddingsWriter again(path, rows(), "s");
  EXPECT_FALSE(again.has_complete_model("half"));
  again.add_model("half", ModelAttributes{}, at::full({5, 3}, 2.0));
  EXPECT_TRUE(at::equal(read_embeddings(path, {"half"}).model("half").embedding, at::full({5, 3}, 2.0)));
  // A complete one is kept unless replace is asked for.
  EXPECT_NE(expect_error([&] { again.add_model("good", ModelAttributes{}, at::zeros({5, 2})); }).find("already complete"),
            std::string::npos);
  again.add_model("good", ModelAttributes{}, at::zeros({5, 2}), {}, {}, /*replace=*/true);
  EXPECT_TRUE(at::equal(read_embeddings(path, {"good"}).model("good").embedding, at::zeros({5, 2})));
}

TEST_F(EmbeddingsFile, FailedAddLeavesThePreviousFileIntact) {
  const fs::path path = dir_ / "E.h5";
  EmbeddingsWriter w(path, rows(), "s");
  w.add_model("good", ModelAttributes{}, at::ones({5, 2}));
  const auto before = read_text(path);
  const auto wrong_rows = expect_error([&] { w.add_model("bad", ModelAttributes{}, at::ones({4, 2})); });
  EXPECT_NE(wrong_rows.find("model 'bad' embedding has 4 rows, the file has 5"), std::string::npos) << wrong_rows;
  const auto names = expect_error(
      [&] { w.add_model("bad", ModelAttributes{}, at::ones({5, 2}), at::ones({5, 3}), {"x/a", "x/b"}); });
  EXPECT_NE(names.find("2 label names for 3 logit columns"), std::string::npos) << names;
  EXPECT_NE(expect_error([&] { w.add_model("a/b", ModelAttributes{}, at::ones({5, 2})); }).find("group name"),
            std::string::npos);
  EXPECT_EQ(read_text(path), before);
  size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1u) << "a temporary file was left behind";
}

TEST_F(EmbeddingsFile, ExistingFileWithOtherRowsIsRefusedNamingTheRow) {
  const fs::path path = dir_ / "E.h5";
  EmbeddingsWriter(path, rows(), "s");
  auto other = rows();
  other.image_id[3] = "q9";
  const auto error = expect_error([&] { EmbeddingsWriter(path, other, "s"); });
  EXPECT_NE(error.find(path.string()), std::string::npos) << error;
  EXPECT_NE(error.find("row 3 is 'q1' (query), this run has 'q9' (query)"), std::string::npos) << error;
  auto fewer = rows();
  fewer.image_id.pop_back();
  fewer.identity.pop_back();
  fewer.dataset.pop_back();
  fewer.split.pop_back();
  fewer.species.pop_back();
  fewer.label.pop_back();
  EXPECT_NE(expect_error([&] { EmbeddingsWriter(path, fewer, "s"); }).find("holds 5 rows, this run embeds 4"),
            std::string::npos);
}

TEST_F(EmbeddingsFile, BadFilesAreRefusedNamingTheFileAndDataset) {
  const fs::path not_h5 = dir_ / "text.h5";
  std::ofstream(not_h5) << "hello";
  EXPECT_NE(expect_error([&] { read_embeddings(not_h5); }).find(not_h5.string()), std::string::npos);
  const fs::path other = dir_ / "other.h5";
  python("import h5py\nwith h5py.File('" + other.string() + "', 'w') as f:\n  f.attrs['format'] = 'something'\n");
  EXPECT_NE(expect_error([&] { read_embeddings(other); }).find("not an embeddings file"), std::string::npos);
  // Written by h5py (variable-length string attributes) with a short logits dataset.
  const fs::path bad = dir_ / "bad.h5";
  EmbeddingsWriter(bad, rows(), "s").add_model("m", ModelAttributes{}, at::ones({5, 2}), at::ones({5, 2}),
                                               {"d/a", "d/b"});
  python("import h5py\nwith h5py.File('" + bad.string() +
         "', 'a') as f:\n  del f['models/m/logits']\n  f['models/m/logits'] = [[0.0, 1.0]] * 4\n");
  const auto error = expect_error([&] { read_embeddings(bad); });
  EXPECT_NE(error.find(bad.string()), std::string::npos) << error;
  EXPECT_NE(error.find("model 'm': logits has 4 rows, /rows has 5"), std::string::npos) << error;
}

}  // namespace
}  // namespace wildreid::identify
