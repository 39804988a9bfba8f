// The SIFT pipeline end to end on synthetic individuals (data/synth_render.h): a photo against a
// rotated, scaled, re-lit copy of itself scores far above the same photo against another
// individual, for the ratio matcher with and without RANSAC; scores do not depend on the worker
// count; the feature cache is reused by a second pipeline and survives a tiny memory budget.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <unistd.h>

#include "data/remove_tree.h"
#include "data/synth_render.h"
#include "matching/local_pipeline.h"
#include "matching/ratio_matcher.h"
#include "matching/sift_extractor.h"
#include "tests/matching/memory_image_source.h"

namespace wildreid::matching {
namespace {

cv::Mat synth_photo(uint64_t individual, uint64_t photo) {
  const auto jpeg = data::render_synth_photo(data::SynthSpecies::kSalamander, individual, photo, 384);
  return cv::imdecode(cv::Mat(1, static_cast<int>(jpeg.size()), CV_8U, const_cast<uint8_t*>(jpeg.data())),
                      cv::IMREAD_COLOR);
}

// Rotated by 25 degrees, scaled by 0.8 about the centre, darker with more contrast.
cv::Mat transformed(const cv::Mat& image) {
  cv::Mat rot = cv::getRotationMatrix2D(cv::Point2f(image.cols / 2.f, image.rows / 2.f), 25, 0.8);
  cv::Mat warped, relit;
  cv::warpAffine(image, warped, rot, image.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT);
  warped.convertTo(relit, -1, 1.3, -50);
  return relit;
}

std::shared_ptr<testing::MemoryImageSource> photos() {
  auto source = std::make_shared<testing::MemoryImageSource>();
  const cv::Mat a = synth_photo(11, 1);
  source->add("a", a);
  source->add("a_transformed", transformed(a));
  source->add("other", synth_photo(12, 1));
  source->add("other_2", synth_photo(13, 2));
  return source;
}

struct TempDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("wildreid_sift_" + std::to_string(::getpid()));
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { data::remove_tree(path); }
};

LocalPipelineOptions sift_options(bool ransac) {
  LocalPipelineOptions o = parse_pipeline_options({{"extractor", "sift"}, {"matcher", "ratio"},
                                                   {"ransac", ransac ? "true" : "false"}}, "test");
  o.progress = false;
  return o;
}

TEST(SiftPipeline, TransformedCopyScoresFarAboveAnotherIndividual) {
  for (bool ransac : {false, true}) {
    LocalPipeline pipeline(sift_options(ransac), photos());
    const auto s = pipeline.score_pairs({{"a", "a_transformed"}, {"a", "other"}, {"a", "other_2"}});
    std::printf("SIFT+ratio%s: same individual transformed %.0f, other individuals %.0f, %.0f\n",
                ransac ? "+RANSAC" : "", s[0], s[1], s[2]);
    EXPECT_GE(s[0], 30) << "too few matches on the transformed copy";
    EXPECT_GT(s[0], 3 * std::max(s[1], s[2])) << "the copy does not stand out";
  }
}

TEST(SiftPipeline, RootSiftIsL2NormalisedAndMonotone) {
  at::Tensor raw = at::rand({5, 128}) * 100;
  at::Tensor r = root_sift(raw);
  EXPECT_TRUE(at::allclose(r.norm(2, 1), at::ones({5}), 1e-5, 1e-5));
  EXPECT_TRUE(at::allclose(r * r, raw / raw.sum(1, true), 1e-4, 1e-5));  // Hellinger kernel
}

TEST(SiftPipeline, ScoresDoNotDependOnWorkerCount) {
  std::vector<std::pair<std::string, std::string>> pairs = {
      {"a", "a_transformed"}, {"a", "other"}, {"other", "other_2"}, {"a_transformed", "other_2"}};
  LocalPipelineOptions one = sift_options(false), two = sift_options(false);
  one.threads = 1;
  two.threads = 2;
  two.batch_pairs = 1;
  auto source = photos();
  EXPECT_EQ(LocalPipeline(one, source).score_pairs(pairs), LocalPipeline(two, source).score_pairs(pairs));
}

TEST(SiftPipeline, CacheIsReusedAndBoundsMemory) {
  TempDir dir;
  auto source = photos();
  LocalPipelineOptions o = sift_options(false);
  o.cache_dir = dir.path;
  std::vector<std::pair<std::string, std::string>> pairs = {{"a", "a_transformed"}, {"a", "other"}};
  std::vector<float> first;
  std::filesystem::path folder;
  {
    LocalPipeline p(o, source);
    first = p.score_pairs(pairs);
    folder = p.store().cache()->folder();
    EXPECT_EQ(p.store().cache()->size(), 3u);
  }
  auto parts = [&] {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(folder)) n += e.path().extension() == ".h5";
    return n;
  };
  EXPECT_EQ(parts(), 1);
  // A second pipeline finds every image cached (no new part) and scores the same from disk; images
  // it has not seen go to a second part.
  auto empty = std::make_shared<testing::MemoryImageSource>();  // nothing to extract from
  LocalPipeline again(o, empty);
  EXPECT_EQ(again.score_pairs(pairs), first);
  EXPECT_EQ(parts(), 1);
  LocalPipeline more(o, source);
  more.score_pairs({{"other", "other_2"}});
  EXPECT_EQ(parts(), 2);
  EXPECT_EQ(more.store().cache()->size(), 4u);
  // A different extractor configuration gets its own folder.
  LocalPipelineOptions other = o;
  other.extractor.max_keypoints = 100;
  LocalPipeline p3(other, source);
  EXPECT_NE(p3.store().cache()->folder(), folder);
}

TEST(FeatureCache, ReadableByH5py) {
  TempDir dir;
  auto source = photos();
  source->add("blank", cv::Mat(64, 64, CV_8UC3, cv::Scalar(90, 90, 90)));  // zero keypoints
  LocalPipelineOptions o = sift_options(false);
  o.cache_dir = dir.path;
  LocalPipeline p(o, source);
  p.ensure_features({"a", "other", "blank"});
  p.ensure_features({"other_2"});  // a second part
  const char* env = std::getenv("WILDREID_PYTHON");
  const std::string python = env && *env ? env : WILDREID_PYTHON_DEFAULT;
  const std::string cmd = "'" + python + "' '" WILDREID_SOURCE_DIR "/tools/read_feature_cache_h5py.py' '" +
                          p.store().cache()->folder().string() + "'";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  ASSERT_TRUE(pipe) << cmd;
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, pipe)) out += buf;
  ASSERT_EQ(::pclose(pipe), 0) << cmd << "\n" << out;
  std::string expected;
  for (const char* id : {"a", "blank", "other", "other_2"}) {
    auto f = p.features(id);
    char line[128];
    std::snprintf(line, sizeof line, "%s %lld %lld %lld %.4f\n", id, static_cast<long long>(f->size()),
                  static_cast<long long>(f->width), static_cast<long long>(f->height),
                  f->descriptors.to(at::kDouble).sum().item<double>());
    expected += line;
  }
  EXPECT_EQ(out, expected);
}

TEST(FeatureStore, MemoryBudgetEvictsAndReadsBackFromTheCache) {
  TempDir dir;
  auto source = photos();
  ExtractorOptions eo;
  SiftExtractor sift(eo);
  std::vector<std::pair<std::string, LocalFeatures>> entries;
  for (const char* id : {"a", "a_transformed", "other", "other_2"})
    entries.emplace_back(id, sift.extract(source->load(id, 0), id));
  const size_t one = entries[0].second.bytes();
  ASSERT_GT(one, 0u);
  std::vector<LocalFeatures> originals;
  for (const auto& e : entries) originals.push_back(e.second);
  FeatureStore store(std::make_unique<FeatureCache>(dir.path, eo), 2 * one + one / 2);
  store.put(entries);
  EXPECT_LE(store.resident_bytes(), 2 * one + one / 2);
  const char* ids[] = {"a", "a_transformed", "other", "other_2"};
  for (int i = 0; i < 4; ++i) {
    auto f = store.get(ids[i]);
    ASSERT_TRUE(f) << ids[i];
    EXPECT_TRUE(f->keypoints.equal(originals[i].keypoints)) << ids[i];
    EXPECT_TRUE(f->descriptors.equal(originals[i].descriptors)) << ids[i];
    EXPECT_TRUE(f->scales.equal(originals[i].scales)) << ids[i];
    EXPECT_EQ(f->width, originals[i].width);
    EXPECT_LE(store.resident_bytes(), 2 * one + one / 2);
  }
  EXPECT_FALSE(store.get("never_seen"));
}

}  // namespace
}  // namespace wildreid::matching
