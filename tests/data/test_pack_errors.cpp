// Every bad input of pack, checksum corruption caught by inspect and by ShardSet::read_bytes, and
// an interrupted pack: in each failing case the error names the file/line/shard/record and no
// shard set (nor staging folder, unless the process was killed) is left behind.
#include <gtest/gtest.h>

#include <algorithm>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "data/csv_reader.h"
#include "data/manifest.h"
#include "data/pack.h"
#include "data/shard_reader.h"
#include "data_test_util.h"

namespace wildreid::data {
namespace {

namespace fs = std::filesystem;
using testing::quoted;
using testing::run_trainer;

std::vector<uint8_t> small_jpeg(int seed) {
  cv::Mat image(24, 32, CV_8UC3, cv::Scalar(seed * 40 % 255, 90, 200));
  cv::circle(image, {10 + seed % 10, 12}, 5, cv::Scalar(0, 0, 0), cv::FILLED);
  std::vector<uint8_t> jpeg;
  cv::imencode(".jpg", image, jpeg);
  return jpeg;
}

// A tiny AnimalCLEF-layout input: `identities` x `per_identity` good JPEGs + 1 query image.
class PackErrors : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    root_ = dir_ / "in";
    csv_ = csv_row({"image_id", "identity", "path", "date", "orientation", "species", "split", "dataset"});
    int id = 0;
    for (int identity = 0; identity < 4; ++identity)
      for (int k = 0; k < 4; ++k, ++id) add_image(id, "ind" + std::to_string(identity), "database");
    add_image(id, "", "query");
  }

  void add_image(int id, const std::string& identity, const std::string& split) {
    const std::string path = "images/" + std::to_string(id) + ".jpg";
    testing::write_bytes(root_ / path, small_jpeg(id));
    csv_ += csv_row({std::to_string(id), identity, path, "", "", "newt", split, "Ponds"});
  }

  fs::path write_csv(const std::string& extra_rows = "") {
    const auto path = root_ / "metadata.csv";
    testing::write_text(path, csv_ + extra_rows);
    return path;
  }

  PackOptions options(const fs::path& out) {
    PackOptions o;
    o.inputs = {{write_csv(), {}, MetadataFormat::kAuto}};
    o.out = out;
    o.threads = 2;
    o.quiet = true;
    o.shard_size = 2000;  // a few records per shard
    return o;
  }

  // pack must throw a message containing `expected` and leave nothing in dir_/out's parent.
  void expect_pack_fails(PackOptions o, const std::string& expected) {
    try {
      pack_shards(o);
      ADD_FAILURE() << "pack succeeded, expected: " << expected;
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(o.out));
    for (const auto& e : fs::directory_iterator(o.out.parent_path()))
      EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << "staging left: " << e.path();
  }

  fs::path root_;
  std::string csv_;
};

TEST_F(PackErrors, CorruptTruncatedAndMissingImagesStopWithPathAndReason) {
  auto o = options(dir_ / "out");
  testing::write_bytes(root_ / "images/5.jpg", {'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e'});
  expect_pack_fails(o, (root_ / "images/5.jpg").string() + " (" + (root_ / "metadata.csv").string() +
                           ":7, image_id 5): not a decodable image");

  testing::write_bytes(root_ / "images/5.jpg", small_jpeg(5));
  auto truncated = small_jpeg(6);
  truncated.resize(truncated.size() / 2);
  testing::write_bytes(root_ / "images/6.jpg", truncated);
  expect_pack_fails(o, (root_ / "images/6.jpg").string() + " (" + (root_ / "metadata.csv").string() +
                           ":8, image_id 6): truncated JPEG");

  testing::write_bytes(root_ / "images/6.jpg", small_jpeg(6));
  auto damaged = small_jpeg(9);  // intact markers, garbage in the header segments
  std::fill(damaged.begin() + 4, damaged.begin() + std::min<size_t>(damaged.size() - 2, 200), 0x00);
  testing::write_bytes(root_ / "images/9.jpg", damaged);
  expect_pack_fails(o, (root_ / "images/9.jpg").string() + " (");

  testing::write_bytes(root_ / "images/9.jpg", small_jpeg(9));
  fs::remove(root_ / "images/3.jpg");
  expect_pack_fails(o, (root_ / "images/3.jpg").string() + " (" + (root_ / "metadata.csv").string() +
                           ":5, image_id 3): missing file");
}

TEST_F(PackErrors, SkipBadCountsAndReportsThroughTheBinary) {
  testing::write_bytes(root_ / "images/5.jpg", {1, 2, 3});
  fs::remove(root_ / "images/3.jpg");
  const auto out = dir_ / "out";
  const auto stop = run_trainer("pack --metadata " + quoted(write_csv()) + " --out " + quoted(out));
  EXPECT_NE(stop.exit_code, 0) << stop.output;
  EXPECT_NE(stop.output.find("images/3.jpg"), std::string::npos) << stop.output;
  EXPECT_FALSE(fs::exists(out));

  const auto skip = run_trainer("pack --metadata " + quoted(write_csv()) + " --out " + quoted(out) + " --skip-bad");
  ASSERT_EQ(skip.exit_code, 0) << skip.output;
  EXPECT_NE(skip.output.find("skipped 2 bad input(s)"), std::string::npos) << skip.output;
  EXPECT_NE(skip.output.find("images/5.jpg"), std::string::npos) << skip.output;
  const auto manifest = read_manifest(out / "manifest.json");
  EXPECT_EQ(manifest.skipped_bad, 2u);
  EXPECT_EQ(manifest.num_records, 17u - 2);
  const auto set = ShardSet::open(out);
  for (size_t i = 0; i < set->size(); ++i) {
    EXPECT_NE(set->info(i).image_id, "3");
    EXPECT_NE(set->info(i).image_id, "5");
  }
}

TEST_F(PackErrors, MalformedCsvAndEscapingPathsNamedByFileAndLine) {
  const auto csv = root_ / "metadata.csv";
  auto o = options(dir_ / "out");
  testing::write_text(csv, csv_ + "99,ind0,\"images/0.jpg,,,newt,database,Ponds\n");
  expect_pack_fails(o, csv.string() + ":19: unterminated quoted field");
  testing::write_text(csv, csv_ + "99,ind0,images/0.jpg,,,newt,database\n");
  expect_pack_fails(o, csv.string() + ":19: expected 8 fields as in the header, found 7");
  testing::write_text(csv, csv_ + "99,ind0,../outside.jpg,,,newt,database,Ponds\n");
  expect_pack_fails(o, csv.string() + ":19: path '../outside.jpg' escapes the image root");
  testing::write_text(csv, csv_ + "99,ind0," + (root_ / "images/0.jpg").string() + ",,,newt,database,Ponds\n");
  expect_pack_fails(o, csv.string() + ":19: path '" + (root_ / "images/0.jpg").string() + "' is absolute");
  expect_pack_fails(PackOptions{{{dir_ / "none.csv", {}, MetadataFormat::kAuto}}, dir_ / "out"},
                    (dir_ / "none.csv").string() + ": cannot open CSV file");
}

// Finds `needle` in `hay` (the record's JPEG inside the shard file).
size_t find_bytes(const std::vector<uint8_t>& hay, const std::vector<uint8_t>& needle) {
  return static_cast<size_t>(std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) - hay.begin());
}

TEST_F(PackErrors, FlippedByteIsDetectedByInspectAndReadBytes) {
  const auto out = dir_ / "out";
  pack_shards(options(out));
  const auto manifest = read_manifest(out / "manifest.json");
  ASSERT_GE(manifest.shards.size(), 3u);
  const auto& victim = manifest.shards[1];
  const size_t row = victim.num_records - 1;
  const size_t global = victim.first_record + row;
  const auto original = ShardSet::open(out)->read_bytes(global);

  const auto shard_file = out / victim.file;
  auto bytes = testing::read_bytes(shard_file);
  const size_t at = find_bytes(bytes, original);
  ASSERT_LT(at, bytes.size());
  bytes[at + original.size() / 2] ^= 0x40;
  testing::write_bytes(shard_file, bytes);

  const auto inspect = run_trainer("inspect --quiet " + quoted(out));
  EXPECT_NE(inspect.exit_code, 0) << inspect.output;
  EXPECT_NE(inspect.output.find(shard_file.string() + ": file checksum mismatch"), std::string::npos) << inspect.output;
  EXPECT_NE(inspect.output.find(shard_file.string() + ": record " + std::to_string(row) + " "), std::string::npos)
      << inspect.output;
  EXPECT_EQ(inspect.output.find(manifest.shards[0].file + ":"), std::string::npos) << "an intact shard was blamed";

  const auto set = ShardSet::open(out);
  try {
    set->read_bytes(global);
    FAIL() << "corrupt record read without error";
  } catch (const CorruptRecord& e) {
    EXPECT_NE(std::string(e.what()).find(shard_file.string() + ": record " + std::to_string(row) +
                                         " (global " + std::to_string(global)),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("CRC32C mismatch"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(set->read_bytes(victim.first_record));  // the shard's other records still read
}

TEST_F(PackErrors, FlippedByteOutsideTheImagesIsCaughtByTheFileChecksum) {
  const auto out = dir_ / "out";
  pack_shards(options(out));
  const auto manifest = read_manifest(out / "manifest.json");
  const auto shard_file = out / manifest.shards[0].file;
  auto bytes = testing::read_bytes(shard_file);
  bytes[bytes.size() - 1] ^= 0x01;  // HDF5 heap/metadata, not record bytes
  testing::write_bytes(shard_file, bytes);
  const auto inspect = run_trainer("inspect --quiet " + quoted(out));
  EXPECT_NE(inspect.exit_code, 0) << inspect.output;
  EXPECT_NE(inspect.output.find(shard_file.string() + ": file checksum mismatch"), std::string::npos) << inspect.output;
}

TEST_F(PackErrors, SwappedShardFilesAreRejectedNamingTheShard) {
  const auto out = dir_ / "out";
  pack_shards(options(out));
  const auto manifest = read_manifest(out / "manifest.json");
  ASSERT_GE(manifest.shards.size(), 2u);
  const auto a = out / manifest.shards[0].file, b = out / manifest.shards[1].file;
  fs::rename(a, out / "swap.h5");
  fs::rename(b, a);
  fs::rename(out / "swap.h5", b);
  try {
    ShardSet::open(out);
    FAIL() << "swapped shards opened";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(a.string() + ": first_record "), std::string::npos) << e.what();
  }
  const auto inspect = run_trainer("inspect --quiet " + quoted(out));
  EXPECT_NE(inspect.exit_code, 0) << inspect.output;
  EXPECT_NE(inspect.output.find(a.string() + ": "), std::string::npos) << inspect.output;
}

TEST_F(PackErrors, InterruptedPackLeavesNoValidSet) {
  const auto out = dir_ / "out";
  const auto control = run_trainer("pack --quiet --shard-size 2000 --metadata " + quoted(write_csv()) + " --out " +
                                   quoted(out));
  ASSERT_EQ(control.exit_code, 0) << control.output;  // the same pack, uninterrupted, completes
  ASSERT_GT(read_manifest(out / "manifest.json").shards.size(), 2u);
  remove_tree(out);
  const auto interrupted = testing::run_command("WILDREID_PACK_KILL_AFTER_SHARDS=2 '" +
                                                testing::trainer_binary().string() + "' pack --quiet --shard-size 2000 --metadata " +
                                                quoted(write_csv()) + " --out " + quoted(out));
  // Killed by SIGKILL: -9 when the shell execs the binary, 128 + 9 when it reports the death.
  EXPECT_TRUE(interrupted.exit_code == -9 || interrupted.exit_code == 137) << interrupted.exit_code << interrupted.output;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_THROW(ShardSet::open(out), std::runtime_error);
  EXPECT_NE(run_trainer("inspect --quiet " + quoted(out)).exit_code, 0);
  // What the killed process left is a hidden staging folder with shards but no manifest.
  size_t staging = 0;
  for (const auto& e : fs::directory_iterator(dir_)) {
    if (e.path().filename().string().rfind(".out.tmp-", 0) != 0) continue;
    ++staging;
    EXPECT_FALSE(fs::exists(e.path() / "manifest.json"));
    EXPECT_THROW(ShardSet::open(e.path()), std::runtime_error);
  }
  EXPECT_EQ(staging, 1u);
  // A new pack into the same place works and removes the dead run's staging folder.
  EXPECT_EQ(run_trainer("pack --quiet --metadata " + quoted(write_csv()) + " --out " + quoted(out)).exit_code, 0);
  EXPECT_EQ(run_trainer("inspect --quiet " + quoted(out)).exit_code, 0);
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_NE(e.path().filename().string().rfind(".out.tmp-", 0), 0u) << "left behind: " << e.path();
}

}  // namespace
}  // namespace wildreid::data
