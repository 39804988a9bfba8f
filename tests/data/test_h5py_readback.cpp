// docs/formats.md's h5py example is tools/read_shard_h5py.py verbatim; this test checks that the
// doc still quotes the file and runs it with the project's Python (h5py, no project code) on a
// packed set, comparing every record with what ShardSet reads.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sstream>
#include <zlib.h>

#include "data/csv_reader.h"
#include "data/pack.h"
#include "data/shard_reader.h"
#include "data/synth.h"
#include "data_test_util.h"

namespace wildreid::data {
namespace {

namespace fs = std::filesystem;

fs::path source_dir() {
  const char* s = std::getenv("WILDREID_SOURCE");
  return s ? fs::path(s) : fs::path(".");
}

class H5pyReadBack : public testing::TempDirTest {};

TEST_F(H5pyReadBack, FormatsDocQuotesTheScriptVerbatim) {
  const auto script = testing::read_text(source_dir() / "tools/read_shard_h5py.py");
  const auto doc = testing::read_text(source_dir() / "docs/formats.md");
  ASSERT_FALSE(script.empty());
  EXPECT_NE(doc.find("```python\n" + script + "```"), std::string::npos)
      << "docs/formats.md must contain tools/read_shard_h5py.py verbatim in a ```python block";
}

TEST_F(H5pyReadBack, PlainH5pyReadsEveryRecordAsShardSetDoes) {
  SynthOptions s;
  s.out = dir_ / "synth";
  s.identities = 2;
  s.unknowns = 1;
  s.images = 3;
  s.size = 48;
  s.threads = 2;
  s.quiet = true;
  synthesize(s);
  PackOptions p;
  p.inputs = {{dir_ / "synth" / "metadata.csv", {}, MetadataFormat::kAuto}};
  p.out = dir_ / "shards";
  p.shard_size = 10000;
  p.quiet = true;
  p.threads = 2;
  pack_shards(p);

  const auto run = testing::run_command(std::string("'") + WILDREID_PYTHON_EXE + "' '" +
                                        (source_dir() / "tools/read_shard_h5py.py").string() + "' '" +
                                        (dir_ / "shards").string() + "'");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto set = ShardSet::open(dir_ / "shards");
  std::istringstream lines(run.output);
  std::string line;
  size_t i = 0;
  while (std::getline(lines, line)) {
    ASSERT_LT(i, set->size()) << "extra line: " << line;
    const auto j = nlohmann::json::parse(line);
    const RecordInfo& r = set->info(i);
    const auto bytes = set->read_bytes(i);
    EXPECT_EQ(j.at("image_id"), r.image_id);
    EXPECT_EQ(j.at("identity"), r.identity);
    EXPECT_EQ(j.at("species"), r.species);
    EXPECT_EQ(j.at("dataset"), r.dataset);
    EXPECT_EQ(j.at("orientation"), r.orientation);
    EXPECT_EQ(j.at("date"), r.date);
    EXPECT_EQ(j.at("split"), r.split);
    EXPECT_EQ(j.at("label"), r.label);
    EXPECT_EQ(j.at("nbytes"), bytes.size());
    EXPECT_EQ(j.at("crc32").get<uint64_t>(), crc32(0L, bytes.data(), static_cast<uInt>(bytes.size())));
    EXPECT_TRUE(j.at("crc_ok").get<bool>()) << r.image_id;
    EXPECT_TRUE(j.at("jpeg").get<bool>()) << r.image_id;
    ++i;
  }
  EXPECT_EQ(i, set->size());
  EXPECT_GT(i, 10u);
}

}  // namespace
}  // namespace wildreid::data
