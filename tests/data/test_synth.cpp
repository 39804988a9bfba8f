// trainer synth: byte-identical output for a seed whatever the thread count, a different seed
// gives different images, and the AnimalCLEF2025 shape (columns, quirks, query rows of known and
// of unknown individuals, solution and sample submission consistent with metadata).
#include <gtest/gtest.h>

#include <map>
#include <opencv2/imgcodecs.hpp>
#include <set>

#include "data/csv_reader.h"
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
