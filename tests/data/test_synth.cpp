// trainer synth: byte-identical output for a seed whatever the thread count, a different seed
// gives different images, the AnimalCLEF2025 shape (columns, quirks, query rows of known and
// of unknown individuals, solution and sample submission consistent with metadata), and the
// WildlifeReID-10k shape (columns, datasets, train/test, singletons, cluster ids) that
// `trainer pack --format auto` recognises and packs into train/val/test with its own labels.
#include <gtest/gtest.h>

#include <map>
#include <opencv2/imgcodecs.hpp>
#include <set>

#include "data/csv_reader.h"
#include "data/metadata.h"
#include "data/pack.h"
#include "data/shard_reader.h"
#include "data/synth.h"
#include "data_test_util.h"

namespace wildreid::data {
namespace {

using testing::TempDirTest;
namespace fs = std::filesystem;

SynthOptions small(const fs::path& out, int threads, uint64_t seed = 42) {
  SynthOptions o;
  o.out = out;
  o.seed = seed;
  o.identities = 3;
  o.unknowns = 2;
  o.images = 5;
  o.size = 64;
  o.threads = threads;
  o.quiet = true;
  return o;
}

std::map<std::string, std::vector<uint8_t>> tree(const fs::path& root) {
  std::map<std::string, std::vector<uint8_t>> files;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) files[fs::relative(e.path(), root).string()] = testing::read_bytes(e.path());
  return files;
}

class Synth : public TempDirTest {};

TEST_F(Synth, ByteIdenticalForASeedAtAnyThreadCount) {
  synthesize(small(dir_ / "one", 1));
  synthesize(small(dir_ / "three", 3));
  const auto a = tree(dir_ / "one"), b = tree(dir_ / "three");
  ASSERT_EQ(a.size(), b.size());
  ASSERT_GT(a.size(), 3u);
  for (const auto& [name, bytes] : a) {
    ASSERT_TRUE(b.count(name)) << name;
    EXPECT_TRUE(bytes == b.at(name)) << name << " differs";
  }
  synthesize(small(dir_ / "other", 2, 43));
  const auto c = tree(dir_ / "other");
  size_t differing = 0;
  for (const auto& [name, bytes] : a)
    if (name.rfind("images/", 0) == 0 && c.count(name) && c.at(name) != bytes) ++differing;
  EXPECT_GT(differing, a.size() / 2) << "another seed should change the images";
}

TEST_F(Synth, AnimalClefShapeWithKnownAndUnknownQueries) {
  const auto report = synthesize(small(dir_ / "s", 2));
  const fs::path root = dir_ / "s";
  const auto meta = read_csv_file(root / "metadata.csv");
  EXPECT_EQ(meta.header, (std::vector<std::string>{"image_id", "identity", "path", "date", "orientation", "species",
                                                   "split", "dataset"}));
  // 3 datasets x (3 known x 5 photos + 2 unknown x max(1, 5/2) photos)
  ASSERT_EQ(meta.rows.size(), 3u * (3 * 5 + 2 * 2));
  EXPECT_EQ(report.database_images + report.query_images, meta.rows.size());
  EXPECT_EQ(report.known_query_images, 3u * 3 * 1);  // max(1, 5/5) per known individual
  EXPECT_EQ(report.unknown_query_images, 3u * 2 * 2);

  std::set<std::string> database_identities, query_ids;
  std::map<std::string, std::string> dataset_of;
  for (const auto& row : meta.rows) {
    const std::string &id = row[0], &identity = row[1], &path = row[2], &date = row[3], &orientation = row[4],
                      &species = row[5], &split = row[6], &dataset = row[7];
    dataset_of[id] = dataset;
    ASSERT_TRUE(split == "database" || split == "query");
    if (split == "database") {
      EXPECT_FALSE(identity.empty());
      database_identities.insert(identity);
    } else {
      EXPECT_TRUE(identity.empty());
      query_ids.insert(id);
    }
    if (dataset == "LynxID2025") EXPECT_TRUE(date.empty());
    else EXPECT_FALSE(date.empty());
    if (dataset == "SeaTurtleID2022") EXPECT_TRUE(orientation.empty());
    if (dataset == "SalamanderID2025" && split == "database") EXPECT_TRUE(species.empty());
    if (dataset == "LynxID2025") EXPECT_EQ(species, "lynx");
    const cv::Mat image = cv::imread((root / path).string());
    ASSERT_FALSE(image.empty()) << path;
    EXPECT_EQ(image.cols, 64);
    EXPECT_EQ(image.rows, 64);
  }
  EXPECT_EQ(database_identities.size(), 3u * 3);

  const auto solution = read_csv_file(root / "solution.csv");
  EXPECT_EQ(solution.header, (std::vector<std::string>{"image_id", "identity", "new_identity", "dataset", "Usage"}));
  ASSERT_EQ(solution.rows.size(), query_ids.size());
  size_t known = 0, unknown = 0;
  for (const auto& row : solution.rows) {
    EXPECT_TRUE(query_ids.count(row[0])) << row[0];
    EXPECT_EQ(row[3], dataset_of[row[0]]);
    EXPECT_TRUE(row[4] == "Public" || row[4] == "Private");
    if (row[2] == "new_individual") {
      ++unknown;
      EXPECT_FALSE(database_identities.count(row[1])) << "unknown individual " << row[1] << " is in the database";
    } else {
      ++known;
      EXPECT_EQ(row[2], row[1]);
      EXPECT_TRUE(database_identities.count(row[1])) << row[1];
    }
  }
  EXPECT_EQ(known, report.known_query_images);
  EXPECT_EQ(unknown, report.unknown_query_images);

  const auto sample = read_csv_file(root / "sample_submission.csv");
  EXPECT_EQ(sample.header, (std::vector<std::string>{"image_id", "identity"}));
  ASSERT_EQ(sample.rows.size(), query_ids.size());
  for (const auto& row : sample.rows) EXPECT_TRUE(query_ids.count(row[0]));
}

TEST_F(Synth, WildlifeReid10kShapePacksWithAutoFormat) {
  auto o = small(dir_ / "w", 2);
  o.layout = SynthLayout::kWildlifeReid10k;
  o.identities = 7;  // individual 7 of each dataset is a singleton
  o.unknowns = 1;
  const auto report = synthesize(o);
  const fs::path root = dir_ / "w";
  EXPECT_FALSE(fs::exists(root / "solution.csv"));
  const auto meta = read_csv_file(root / "metadata.csv");
  EXPECT_EQ(meta.header, (std::vector<std::string>{"identity", "path", "species", "date", "orientation", "split",
                                                   "dataset", "cluster_id"}));
  // 4 datasets x (6 individuals x 5 photos + 1 singleton + 1 unknown x max(1, 5/2) photos)
  ASSERT_EQ(meta.rows.size(), 4u * (6 * 5 + 1 + 2));
  EXPECT_EQ(report.database_images + report.query_images, meta.rows.size());
  EXPECT_EQ(report.known_query_images, 4u * 6);  // max(1, 5/5) per individual of 5 photos
  EXPECT_EQ(report.unknown_query_images, 4u * 2);
  std::map<std::string, std::set<std::string>> splits_of;  // identity -> its splits
  std::map<std::string, int> photos_of;
  std::set<std::string> datasets;
  std::map<std::string, std::set<std::string>> identities_of_cluster;
  for (const auto& row : meta.rows) {
    const std::string &identity = row[0], &path = row[1], &species = row[2], &date = row[3], &orientation = row[4],
                      &split = row[5], &dataset = row[6], &cluster = row[7];
    ASSERT_TRUE(split == "train" || split == "test") << split;
    EXPECT_FALSE(identity.empty());
    EXPECT_FALSE(species.empty());
    EXPECT_FALSE(cluster.empty());
    EXPECT_EQ(date.empty(), dataset == "ZindiTurtleRecall") << dataset;
    EXPECT_EQ(orientation.empty(), dataset == "SealIDSegmented") << dataset;
    EXPECT_EQ(path.rfind("images/" + dataset + "/" + identity + "/", 0), 0u) << path;
    splits_of[identity].insert(split);
    ++photos_of[identity];
    datasets.insert(dataset);
    identities_of_cluster[cluster].insert(identity);
    const cv::Mat image = cv::imread((root / path).string());
    ASSERT_FALSE(image.empty()) << path;
  }
  EXPECT_EQ(datasets, (std::set<std::string>{"HyenaID2022", "LeopardID2022", "SealIDSegmented", "ZindiTurtleRecall"}));
  for (const auto& [cluster, identities] : identities_of_cluster) EXPECT_EQ(identities.size(), 1u) << cluster;
  for (const auto& dataset : datasets) {
    const std::string singleton = dataset + "_0007", unknown = dataset + "_0008", known = dataset + "_0001";
    EXPECT_EQ(photos_of[singleton], 1) << singleton;
    EXPECT_EQ(splits_of[singleton], std::set<std::string>{"train"}) << singleton;
    EXPECT_EQ(splits_of[unknown], std::set<std::string>{"test"}) << unknown;
    EXPECT_EQ(splits_of[known], (std::set<std::string>{"train", "test"})) << known;
  }

  PackOptions pack;
  pack.inputs = {{root / "metadata.csv", {}, MetadataFormat::kAuto}};
  pack.out = dir_ / "shards";
  pack.threads = 2;
  pack.quiet = true;
  const auto packed = pack_shards(pack);
  EXPECT_EQ(packed.manifest.labels.size(), 4u * 7);  // every train individual, singletons included
  EXPECT_EQ(packed.manifest.split_counts.at("test"), report.query_images);
  EXPECT_EQ(packed.manifest.split_counts.at("train") + packed.manifest.split_counts.at("val"),
            report.database_images);
  const auto shards = ShardSet::open(dir_ / "shards");
  for (size_t i : shards->split_indices("test")) {
    const auto& info = shards->info(i);
    EXPECT_EQ(info.image_id, info.dataset + "/images/" + info.dataset + "/" + info.identity + "/" +
                                 fs::path(info.image_id).filename().string());
  }
}

TEST_F(Synth, RefusesToOverwriteAndLeavesNoStagingFolder) {
  synthesize(small(dir_ / "s", 1));
  EXPECT_THROW(synthesize(small(dir_ / "s", 1)), std::runtime_error);
  auto o = small(dir_ / "s", 1, 9);
  o.overwrite = true;
  synthesize(o);
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
}

}  // namespace
}  // namespace wildreid::data
