// BatchLoader against an in-test ShardSet serving OpenCV-encoded JPEGs: batch contents follow
// the sampler, batches are byte-identical with 1 and 3 decode threads, a resume mid-epoch
// replays the remaining batches exactly, and a corrupt record is an error naming shard and
// record, or is skipped and counted when configured.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <chrono>
#include <set>
#include <thread>

#include "data/batch_loader.h"

using namespace wildreid::data;

namespace {

// Records 0..n-1; label = index % 7; split "train" = all. `corrupt` records fail their checksum
// at read time, `undecodable` ones hold bytes that are not an image.
class FakeShardSet : public ShardSet {
 public:
  FakeShardSet(size_t n, std::set<size_t> corrupt = {}, std::set<size_t> undecodable = {})
      : corrupt_(std::move(corrupt)), undecodable_(std::move(undecodable)) {
    for (size_t i = 0; i < n; ++i) {
      RecordInfo r;
      r.label = static_cast<int64_t>(i % 7);
      r.image_id = "img" + std::to_string(i);
      r.split = "train";
      infos_.push_back(r);
      cv::Mat img(60 + static_cast<int>(i % 5) * 13, 90 - static_cast<int>(i % 3) * 11, CV_8UC3);
      cv::RNG rng(i);
      rng.fill(img, cv::RNG::UNIFORM, 0, 256);
      cv::GaussianBlur(img, img, {5, 5}, 2);
      std::vector<uint8_t> jpeg;
      cv::imencode(".jpg", img, jpeg);
      bytes_.push_back(undecodable_.count(i) ? std::vector<uint8_t>(jpeg.begin(), jpeg.begin() + 40) : jpeg);
    }
  }
  size_t size() const override { return infos_.size(); }
  const RecordInfo& info(size_t i) const override { return infos_.at(i); }
  size_t num_labels() const override { return 7; }
  std::vector<size_t> split_indices(const std::string& split) const override {
    std::vector<size_t> v;
    if (split == "train") for (size_t i = 0; i < infos_.size(); ++i) v.push_back(i);
    return v;
  }
  std::vector<uint8_t> read_bytes(size_t i) const override {
    if (corrupt_.count(i))
      throw CorruptRecord("record " + std::to_string(i) + " of " + shard_path(i).string() +
                          ": CRC32C mismatch");
    return bytes_.at(i);
  }
  std::filesystem::path shard_path(size_t i) const override {
    return "fake/shard-0000" + std::to_string(i / 10) + ".h5";
  }

 private:
  std::vector<RecordInfo> infos_;
  std::vector<std::vector<uint8_t>> bytes_;
  std::set<size_t> corrupt_, undecodable_;
};

LoaderOptions loader_options(int threads, int64_t batch = 4) {
  LoaderOptions o;
  o.batch_size = batch;
  o.decode_threads = threads;
  o.prefetch_batches = 2;
  o.seed = 99;
  return o;
}

std::vector<Batch> epoch(BatchLoader& loader, SamplerState from) {
  loader.start(from);
  std::vector<Batch> out;
  while (auto b = loader.next()) out.push_back(*b);
  return out;
}

DistributedSampler sampler_for(const ShardSet& s, int rank = 0, int world = 1) {
  return DistributedSampler(s.split_indices("train"), {3, rank, world, true, false});
}

}  // namespace

TEST(Loader, BatchesFollowTheSamplerWithLabelsAndShapes) {
  auto shards = std::make_shared<FakeShardSet>(22);
  const auto sampler = sampler_for(*shards, 1, 2);
  BatchLoader loader(shards, sampler, full_train_recipe(32), loader_options(2));
  const auto batches = epoch(loader, {1, 0});
  ASSERT_EQ(batches.size(), loader.batches_per_epoch());
  ASSERT_EQ(batches.size(), 3u);  // 11 samples on this rank: 4 + 4 + 3
  std::vector<size_t> seen;
  for (const auto& b : batches) {
    EXPECT_EQ(b.images.dim(), 4);
    EXPECT_EQ(b.images.size(1), 3);
    EXPECT_EQ(b.images.size(2), 32);
    EXPECT_EQ(b.images.size(3), 32);
    EXPECT_EQ(b.images.scalar_type(), at::kFloat);
    EXPECT_EQ(b.labels.scalar_type(), at::kLong);
    for (int64_t k = 0; k < b.indices.size(0); ++k) {
      const auto idx = b.indices[k].item<int64_t>();
      seen.push_back(static_cast<size_t>(idx));
      EXPECT_EQ(b.labels[k].item<int64_t>(), idx % 7);
    }
    EXPECT_TRUE(at::isfinite(b.images).all().item<bool>());
  }
  EXPECT_EQ(seen, sampler.rank_indices(1));
  EXPECT_EQ(batches.back().next, (SamplerState{1, 11}));
  EXPECT_EQ(loader.state(), (SamplerState{1, 11}));
}

TEST(Loader, IdenticalBytesWithOneAndThreeDecodeThreads) {
  auto shards = std::make_shared<FakeShardSet>(18);
  BatchLoader one(shards, sampler_for(*shards), full_train_recipe(40), loader_options(1));
  BatchLoader three(shards, sampler_for(*shards), full_train_recipe(40), loader_options(3));
  const auto a = epoch(one, {2, 0});
  // Streamed and dropped one by one, so the 3-thread loader recycles its batch buffers.
  three.start({2, 0});
  size_t i = 0;
  while (auto b = three.next()) {
    ASSERT_LT(i, a.size());
    EXPECT_TRUE(at::equal(a[i].indices, b->indices));
    ASSERT_EQ(a[i].images.sizes(), b->images.sizes());
    EXPECT_EQ(std::memcmp(a[i].images.data_ptr(), b->images.data_ptr(), a[i].images.nbytes()), 0)
        << "batch " << i << " differs between 1 and 3 decode threads";
    ++i;
  }
  EXPECT_EQ(i, a.size());
  const auto other_epoch = epoch(one, {3, 0});
  EXPECT_FALSE(at::equal(a[0].images, other_epoch[0].images));  // augmentation is per epoch
}

TEST(Loader, PrefetchDepthCountsQueuedBatchesAtTake) {
  auto shards = std::make_shared<FakeShardSet>(24);
  BatchLoader loader(shards, sampler_for(*shards), full_train_recipe(24), loader_options(2));
  EXPECT_EQ(loader.prefetch_depth(), 0u);  // nothing taken yet
  loader.start({0, 0});
  auto first = loader.next();
  ASSERT_TRUE(first.has_value());
  // The taken batch itself is counted; the reader never queues more than prefetch_batches.
  EXPECT_GE(loader.prefetch_depth(), 1u);
  EXPECT_LE(loader.prefetch_depth(), 2u);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let the reader fill the queue
  ASSERT_TRUE(loader.next().has_value());
  EXPECT_EQ(loader.prefetch_depth(), 2u);
}

TEST(Loader, ResumeMidEpochReplaysTheRemainingBatches) {
  auto shards = std::make_shared<FakeShardSet>(20);
  BatchLoader loader(shards, sampler_for(*shards), full_train_recipe(24), loader_options(2));
  const auto whole = epoch(loader, {0, 0});
  const SamplerState resume = whole[1].next;  // after two batches
  EXPECT_EQ(resume, (SamplerState{0, 8}));
  BatchLoader fresh(shards, sampler_for(*shards), full_train_recipe(24), loader_options(3));
  const auto rest = epoch(fresh, resume);
  ASSERT_EQ(rest.size(), whole.size() - 2);
  for (size_t i = 0; i < rest.size(); ++i) {
    EXPECT_TRUE(at::equal(rest[i].indices, whole[i + 2].indices));
    EXPECT_TRUE(at::equal(rest[i].images, whole[i + 2].images));
  }
}

TEST(Loader, RestartWhileBatchesAreInFlightDiscardsThem) {
  auto shards = std::make_shared<FakeShardSet>(24);
  auto options = loader_options(2);
  options.prefetch_batches = 4;
  BatchLoader loader(shards, sampler_for(*shards), full_train_recipe(24), options);
  const auto whole = epoch(loader, {0, 0});
  loader.start({0, 0});
  ASSERT_TRUE(loader.next().has_value());  // more batches are being decoded meanwhile
  loader.start({0, 4});                    // abandon them, resume after the first batch
  std::vector<Batch> rest;
  while (auto b = loader.next()) rest.push_back(*b);
  ASSERT_EQ(rest.size(), whole.size() - 1);
  for (size_t i = 0; i < rest.size(); ++i) {
    EXPECT_TRUE(at::equal(rest[i].indices, whole[i + 1].indices));
    EXPECT_TRUE(at::equal(rest[i].images, whole[i + 1].images));
  }
}

TEST(Loader, Uint8OutputAndEvalRecipe) {
  auto shards = std::make_shared<FakeShardSet>(6);
  TransformOptions t;
  t.train = false;
  t.size = 16;
  t.output = OutputFormat::kUint8;
  BatchLoader loader(shards, DistributedSampler(shards->split_indices("train"), {0, 0, 1, false, false}),
                     t, loader_options(2, 6));
  const auto batches = epoch(loader, {0, 0});
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].images.scalar_type(), at::kByte);
  EXPECT_EQ(batches[0].images.sizes(), (at::IntArrayRef{6, 3, 16, 16}));
  EXPECT_EQ(batches[0].indices[5].item<int64_t>(), 5);  // unshuffled
}

TEST(Loader, CorruptRecordIsAnErrorNamingShardAndRecord) {
  auto shards = std::make_shared<FakeShardSet>(12, std::set<size_t>{}, std::set<size_t>{7});
  BatchLoader loader(shards, DistributedSampler(shards->split_indices("train"), {0, 0, 1, false, false}),
                     full_train_recipe(16), loader_options(2));
  loader.start({0, 0});
  ASSERT_TRUE(loader.next().has_value());  // records 0..3
  try {
    loader.next();  // records 4..7
    FAIL() << "an undecodable record must raise an error";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("record 7"), std::string::npos) << what;
    EXPECT_NE(what.find("img7"), std::string::npos) << what;
    EXPECT_NE(what.find("fake/shard-00000.h5"), std::string::npos) << what;
  }
}

TEST(Loader, CorruptRecordsSkippedAndCountedWhenConfigured) {
  auto shards = std::make_shared<FakeShardSet>(12, std::set<size_t>{2, 3}, std::set<size_t>{10});
  auto options = loader_options(2);
  options.skip_corrupt = true;
  BatchLoader loader(shards, DistributedSampler(shards->split_indices("train"), {0, 0, 1, false, false}),
                     full_train_recipe(16), options);
  const auto batches = epoch(loader, {0, 0});
  std::vector<int64_t> seen;
  for (const auto& b : batches)
    for (int64_t k = 0; k < b.indices.size(0); ++k) seen.push_back(b.indices[k].item<int64_t>());
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 4, 5, 6, 7, 8, 9, 11}));
  EXPECT_EQ(loader.skipped_records(), 3u);
  EXPECT_EQ(loader.state(), (SamplerState{0, 12}));

  options.skip_corrupt = false;  // the read-time checksum failure is an error by default
  BatchLoader strict(shards, DistributedSampler(shards->split_indices("train"), {0, 0, 1, false, false}),
                     full_train_recipe(16), options);
  strict.start({0, 0});
  EXPECT_THROW(strict.next(), std::runtime_error);
}
