// BatchLoader on real shards: `trainer synth` + `trainer pack` (from $WILDREID_BIN) write a
// small shard set, and two ranks' loaders over its train split read every train record once,
// with the labels the shards store, decoded from real JPEG bytes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include <unistd.h>

#include "data/batch_loader.h"
#include "data/remove_tree.h"

using namespace wildreid::data;
namespace fs = std::filesystem;

TEST(LoaderShards, TwoRanksReadEveryTrainRecordOfAPackedSet) {
  const char* bin = std::getenv("WILDREID_BIN");
  ASSERT_TRUE(bin && *bin) << "WILDREID_BIN (folder of the trainer binary) is not set";
  const fs::path trainer = fs::path(bin) / "trainer";
  ASSERT_TRUE(fs::exists(trainer)) << trainer << " is missing: build the trainer target";
  const fs::path dir = fs::temp_directory_path() / ("wildreid_loader_shards_" + std::to_string(::getpid()));
  remove_tree(dir);
  fs::create_directories(dir);
  const std::string synth = "'" + trainer.string() + "' synth --quiet --out '" + (dir / "synth").string() +
                            "' --identities 3 --unknowns 1 --images 4 --size 96 --threads 1";
  const std::string pack = "'" + trainer.string() + "' pack --quiet --metadata '" +
                           (dir / "synth" / "metadata.csv").string() + "' --out '" +
                           (dir / "shards").string() + "' --threads 1";
  ASSERT_EQ(std::system(synth.c_str()), 0) << synth;
  ASSERT_EQ(std::system(pack.c_str()), 0) << pack;

  auto shards = ShardSet::open(dir / "shards");
  const auto train = shards->split_indices("train");
  ASSERT_GE(train.size(), 4u);
  std::multiset<int64_t> seen;
  for (int rank = 0; rank < 2; ++rank) {
    LoaderOptions lo;
    lo.batch_size = 3;
    lo.decode_threads = 2;
    lo.seed = 5;
    BatchLoader loader(shards, DistributedSampler(train, {1, rank, 2, true, true}),
                       full_train_recipe(48), lo);
    loader.start({0, 0});
    while (auto b = loader.next()) {
      EXPECT_EQ(b->images.size(1), 3);
      EXPECT_TRUE(at::isfinite(b->images).all().item<bool>());
      for (int64_t k = 0; k < b->indices.size(0); ++k) {
        const auto record = static_cast<size_t>(b->indices[k].item<int64_t>());
        EXPECT_EQ(shards->info(record).split, "train");
        EXPECT_EQ(b->labels[k].item<int64_t>(), shards->info(record).label);
        EXPECT_GE(b->labels[k].item<int64_t>(), 0);
        seen.insert(static_cast<int64_t>(record));
      }
    }
    EXPECT_EQ(loader.skipped_records(), 0u);
  }
  // drop: 2 * floor(n / 2) records, each at most once, all from the train split
  EXPECT_EQ(seen.size(), train.size() / 2 * 2);
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), seen.size());
  remove_tree(dir);
}
