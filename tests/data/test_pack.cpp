// pack -> shards -> inspect/ShardSet round trip on a small synthetic set, through the real
// `trainer` binary where the command-line contract matters (exit codes, messages) and through the
// library elsewhere: bytes and columns survive, labels/splits are right, several inputs get
// disjoint labels, output is byte-identical whatever --threads (and whenever it runs), --max-side
// re-encodes, and an existing output is not replaced without --overwrite.
#include <gtest/gtest.h>

#include <map>
#include <opencv2/imgcodecs.hpp>
#include <set>
#include <thread>

#include "data/csv_reader.h"
#include "data/manifest.h"
#include "data/pack.h"
#include "data/shard_reader.h"
#include "data/synth.h"
#include "data_test_util.h"

namespace wildreid::data {
namespace {

namespace fs = std::filesystem;
using testing::quoted;
using testing::run_trainer;

// One small synthetic AnimalCLEF set shared by the tests of this file (and test_pack_errors.cpp).
class PackTest : public testing::TempDirTest {
 protected:
  static void SetUpTestSuite() {
    synth_dir_ = testing::make_temp_dir("pack-synth") / "synth";
    SynthOptions o;
    o.out = synth_dir_;
    o.identities = 4;
    o.unknowns = 2;
    o.images = 5;
    o.size = 64;
    o.threads = 2;
    o.quiet = true;
    synthesize(o);
  }
  static void TearDownTestSuite() { remove_tree(synth_dir_.parent_path()); }

  PackOptions options(const fs::path& out) const {
    PackOptions p;
    p.inputs = {{synth_dir_ / "metadata.csv", {}, MetadataFormat::kAuto}};
    p.out = out;
    p.shard_size = 40000;
    p.threads = 2;
    p.quiet = true;
    return p;
  }

  static fs::path synth_dir_;
};
fs::path PackTest::synth_dir_;

TEST_F(PackTest, PackInspectRoundTripThroughTheBinary) {
  const fs::path out = dir_ / "shards";
  const auto pack = run_trainer("pack --metadata " + quoted(synth_dir_ / "metadata.csv") + " --out " + quoted(out) +
                                " --shard-size 40000 --threads 2");
  ASSERT_EQ(pack.exit_code, 0) << pack.output;
  const auto inspect = run_trainer("inspect " + quoted(out));
  ASSERT_EQ(inspect.exit_code, 0) << inspect.output;
  EXPECT_NE(inspect.output.find("records verified"), std::string::npos) << inspect.output;
  EXPECT_NE(inspect.output.find("SalamanderID2025: query=8 train=12 val=4"), std::string::npos) << inspect.output;

  const auto meta = read_csv_file(synth_dir_ / "metadata.csv");
  const auto set = ShardSet::open(out);
  const Manifest manifest = read_manifest(out / "manifest.json");
  ASSERT_EQ(set->size(), meta.rows.size());
  EXPECT_GT(manifest.shards.size(), 2u);
  EXPECT_EQ(set->num_labels(), 3u * 4);  // every known individual has train images
  EXPECT_EQ(manifest.split_counts.at("query"), 3u * (4 + 2 * 2));
  EXPECT_EQ(set->split_indices("query").size(), manifest.split_counts.at("query"));
  EXPECT_EQ(set->split_indices("val").size(), manifest.split_counts.at("val"));
  EXPECT_EQ(manifest.split_counts.at("val"), 3u * 4);  // n = 4 database images: round(0.8) = 1 each

  std::map<std::string, size_t> row_of;
  for (size_t r = 0; r < meta.rows.size(); ++r) row_of[meta.rows[r][0]] = r;
  std::set<std::string> shards_seen;
  for (size_t i = 0; i < set->size(); ++i) {
    const RecordInfo& info = set->info(i);
    ASSERT_TRUE(row_of.count(info.image_id)) << info.image_id;
    const auto& row = meta.rows[row_of[info.image_id]];
    EXPECT_EQ(info.identity, row[1]);
    EXPECT_EQ(info.date, row[3]);
    EXPECT_EQ(info.orientation, row[4]);
    EXPECT_EQ(info.species, row[5]);
    EXPECT_EQ(info.dataset, row[7]);
    if (row[6] == "query") {
      EXPECT_EQ(info.split, "query");
      EXPECT_EQ(info.label, -1);
    } else {
      EXPECT_TRUE(info.split == "train" || info.split == "val") << info.split;
      ASSERT_GE(info.label, 0);
      const auto& entry = manifest.labels.at(static_cast<size_t>(info.label));
      EXPECT_EQ(entry.identity, info.identity);
      EXPECT_EQ(entry.dataset, info.dataset);
    }
    EXPECT_TRUE(set->read_bytes(i) == testing::read_bytes(synth_dir_ / row[2])) << "bytes of " << info.image_id;
    shards_seen.insert(set->shard_path(i).filename().string());
  }
  EXPECT_EQ(shards_seen.size(), manifest.shards.size());
}

TEST_F(PackTest, ShardsDoNotDependOnThreadCount) {
  auto one = options(dir_ / "one");
  one.threads = 1;
  auto three = options(dir_ / "three");
  three.threads = 3;
  const auto a = pack_shards(one).manifest;
  // Pack again in a later second, so timestamps stored in the files (HDF5 object times) would show.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  const auto b = pack_shards(three).manifest;
  ASSERT_EQ(a.shards.size(), b.shards.size());
  for (size_t s = 0; s < a.shards.size(); ++s) {
    EXPECT_EQ(a.shards[s].num_records, b.shards[s].num_records);
    EXPECT_TRUE(testing::read_bytes(dir_ / "one" / a.shards[s].file) == testing::read_bytes(dir_ / "three" / b.shards[s].file))
        << a.shards[s].file;
  }
}

TEST_F(PackTest, MaxSideReencodesLargerImages) {
  auto o = options(dir_ / "small");
  o.max_side = 40;
  pack_shards(o);
  const auto set = ShardSet::open(dir_ / "small");
  ASSERT_GT(set->size(), 0u);
  for (size_t i = 0; i < set->size(); i += 7) {
    const auto bytes = set->read_bytes(i);
    const cv::Mat image = cv::imdecode(bytes, cv::IMREAD_COLOR);
    ASSERT_FALSE(image.empty());
    EXPECT_EQ(std::max(image.cols, image.rows), 40);
  }
}

TEST_F(PackTest, SeveralInputsGetDisjointLabelsAndKeepTestSplit) {
  // A WildlifeReID-10k-layout CSV over some of the same image files, under another dataset name.
  const auto meta = read_csv_file(synth_dir_ / "metadata.csv");
  std::string wr = csv_row({"identity", "path", "species", "date", "orientation", "split", "dataset", "cluster_id"});
  size_t wr_rows = 0;
  for (const auto& row : meta.rows) {
    if (row[6] != "database") continue;
    const std::string split = (wr_rows % 5 == 4) ? "test" : "train";
    wr += csv_row({row[1], row[2], "zebra", "", "", split, "ZooSet", ""});
    ++wr_rows;
  }
  testing::write_text(dir_ / "wr10k" / "metadata.csv", wr);
  auto o = options(dir_ / "both");
  o.inputs.push_back({dir_ / "wr10k" / "metadata.csv", synth_dir_, MetadataFormat::kAuto});
  const auto manifest = pack_shards(o).manifest;
  EXPECT_EQ(manifest.num_records, meta.rows.size() + wr_rows);
  EXPECT_EQ(manifest.dataset_counts.at("ZooSet"), wr_rows);
  EXPECT_EQ(manifest.split_counts.at("test"), wr_rows / 5);
  std::set<std::pair<std::string, std::string>> keys;
  for (const auto& l : manifest.labels) keys.insert({l.dataset, l.identity});
  EXPECT_EQ(keys.size(), manifest.labels.size());
  EXPECT_EQ(manifest.labels.size(), 2u * 3 * 4);  // each identity twice: once per dataset
  const auto set = ShardSet::open(dir_ / "both");
  std::map<int64_t, std::string> dataset_of_label;
  for (size_t i = 0; i < set->size(); ++i) {
    const auto& r = set->info(i);
    if (r.label < 0) continue;
    auto [it, inserted] = dataset_of_label.emplace(r.label, r.dataset);
    EXPECT_EQ(it->second, r.dataset) << "label " << r.label << " shared by two datasets";
  }
}

TEST_F(PackTest, ExistingOutputIsNotReplacedWithoutOverwrite) {
  pack_shards(options(dir_ / "out"));
  const auto before = testing::read_text(dir_ / "out" / "manifest.json");
  EXPECT_THROW(pack_shards(options(dir_ / "out")), std::runtime_error);
  EXPECT_EQ(testing::read_text(dir_ / "out" / "manifest.json"), before);
  auto o = options(dir_ / "out");
  o.overwrite = true;
  o.shard_size = 1 << 30;
  EXPECT_EQ(pack_shards(o).manifest.shards.size(), 1u);
  EXPECT_EQ(ShardSet::open(dir_ / "out")->size(), read_manifest(dir_ / "out" / "manifest.json").num_records);
}

TEST_F(PackTest, HelpExplainsEveryOptionWithDefaults) {
  const auto help = run_trainer("pack --help");
  ASSERT_EQ(help.exit_code, 0) << help.output;
  for (const char* option : {"--metadata", "--root", "--format", "--out", "--shard-size", "--max-side", "--threads",
                             "--skip-bad", "--seed", "--overwrite", "256M"})
    EXPECT_NE(help.output.find(option), std::string::npos) << option;
}

}  // namespace
}  // namespace wildreid::data
