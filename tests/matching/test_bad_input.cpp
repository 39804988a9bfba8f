// Bad input gives a named error or a zero score, never a crash: empty images (no pixels, no
// bytes), one-pixel and keypoint-free images, weights files missing a key, features LightGlue
// cannot take, and pipeline options that cannot work.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "checkpoints/safetensors.h"
#include "checkpoints/module_weights.h"
#include "data/remove_tree.h"
#include "matching/aliked.h"
#include "matching/extractor.h"
#include "matching/lightglue.h"
#include "matching/local_pipeline.h"
#include "checkpoints/weights_file.h"
#include "matching/network_weights.h"
#include "tests/matching/memory_image_source.h"

namespace wildreid::matching {
namespace {

// The exception message of `fn`, or "" when it does not throw.
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

struct TempDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() / ("wildreid_bad_" + std::to_string(::getpid()));
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { data::remove_tree(path); }
};

cv::Mat textured(int rows, int cols) {
  cv::Mat image(rows, cols, CV_8UC3);
  cv::randu(image, 0, 255);
  return image;
}

LocalPipelineOptions sift_options() {
  LocalPipelineOptions o = parse_pipeline_options({{"extractor", "sift"}}, "bad-input");
  o.progress = false;
  return o;
}

TEST(BadInput, EmptyImageIsANamedError) {
  auto source = std::make_shared<testing::MemoryImageSource>();
  source->add("empty_one", cv::Mat());
  source->add("fine", textured(200, 300));
  LocalPipeline pipeline(sift_options(), source);
  const std::string e = error_of([&] { pipeline.score_pairs({{"fine", "empty_one"}}); });
  EXPECT_NE(e.find("empty_one"), std::string::npos) << e;
  EXPECT_NE(e.find("empty"), std::string::npos) << e;
  const std::string bytes = error_of([] { decode_for_size(nullptr, 0, 512, "'zero.jpg'"); });
  EXPECT_NE(bytes.find("zero.jpg"), std::string::npos) << bytes;
  const uint8_t junk[] = {1, 2, 3, 4};
  const std::string garbage = error_of([&] { decode_for_size(junk, sizeof junk, 512, "'junk.jpg'"); });
  EXPECT_NE(garbage.find("junk.jpg"), std::string::npos) << garbage;
}

TEST(BadInput, OnePixelAndKeypointFreeImagesScoreZero) {
  auto source = std::make_shared<testing::MemoryImageSource>();
  source->add("pixel", cv::Mat(1, 1, CV_8UC3, cv::Scalar(200, 100, 50)));
  source->add("blank", cv::Mat(300, 400, CV_8UC3, cv::Scalar(128, 128, 128)));
  source->add("fine", textured(300, 400));
  for (int64_t size : {512, 0}) {  // resized to 512, and left at one pixel
    LocalPipelineOptions o = sift_options();
    o.extractor.size = size;
    LocalPipeline pipeline(o, source);
    const auto s = pipeline.score_pairs({{"fine", "pixel"}, {"pixel", "fine"}, {"blank", "fine"}, {"fine", "blank"}});
    for (float v : s) EXPECT_EQ(v, 0.f) << "size " << size;
    EXPECT_EQ(pipeline.features("blank")->size(), 0);
    EXPECT_GT(pipeline.features("fine")->size(), 0);
  }
}

TEST(BadInput, AlikedOnTinyAndFlatImagesRuns) {
  AlikedOptions o;
  o.max_keypoints = 32;
  o.detection_threshold = 0;
  Aliked model(o);
  at::NoGradGuard no_grad;
  EXPECT_EQ(model->extract(at::rand({1, 3, 1, 1})).size(), 0);
  EXPECT_LE(model->extract(at::full({1, 3, 40, 56}, 0.5)).size(), 32);  // flat: runs, within the budget
  EXPECT_NE(error_of([&] { model->extract(at::rand({1, 2, 8, 8})); }).find("ALIKED"), std::string::npos);
}

TEST(BadInput, MissingWeightsKeyIsNamed) {
  TempDir dir;
  AlikedOptions ao;
  Aliked aliked(ao);
  auto state = checkpoints::module_state(*aliked);
  std::vector<std::pair<std::string, at::Tensor>> kept;
  for (auto& [name, t] : state)
    if (name != "desc_head.agg_weights") kept.emplace_back(name, t);
  const auto path = dir.path / "aliked_missing.safetensors";
  checkpoints::save_safetensors(path, kept);
  const std::string e =
      error_of([&] { load_aliked_weights(*Aliked(ao), checkpoints::read_weights_file(path), path.string()); });
  EXPECT_NE(e.find("desc_head.agg_weights"), std::string::npos) << e;
  EXPECT_NE(e.find("aliked_missing.safetensors"), std::string::npos) << e;

  LightGlue lg(lightglue_options_for("aliked"));
  std::map<std::string, at::Tensor> lg_state;
  for (auto& [name, t] : checkpoints::module_state(*lg))
    if (name != "transformers.3.cross_attn.to_v.bias") lg_state[name] = t;
  const std::string e2 = error_of([&] { load_lightglue_weights(*lg, lg_state, "lightglue_missing.pth"); });
  EXPECT_NE(e2.find("transformers.3.cross_attn.to_v.bias"), std::string::npos) << e2;
  const std::string e3 = error_of([&] { checkpoints::read_weights_file(dir.path / "nowhere.pth"); });
  EXPECT_NE(e3.find("nowhere.pth"), std::string::npos) << e3;
}

TEST(BadInput, LightGlueRejectsFeaturesItCannotTake) {
  LightGlue lg(lightglue_options_for("aliked"));
  LocalFeatures good = empty_features(128, 100, 80, false), wide = empty_features(64, 100, 80, false);
  good.keypoints = at::rand({5, 2}) * 50;
  good.descriptors = at::randn({5, 128});
  good.scores = at::ones({5});
  wide.keypoints = good.keypoints;
  wide.descriptors = at::randn({5, 64});
  wide.scores = good.scores;
  const std::string dim = error_of([&] { lg->match({{&good, &good}, {&good, &wide}}); });
  EXPECT_NE(dim.find("pair 1 image 1"), std::string::npos) << dim;
  LocalFeatures outside = good;
  outside.keypoints = good.keypoints + 500;
  const std::string range = error_of([&] { lg->match({{&outside, &good}}); });
  EXPECT_NE(range.find("outside"), std::string::npos) << range;
  LightGlue sift_lg(lightglue_options_for("sift"));
  const std::string ori = error_of([&] { sift_lg->match({{&good, &good}}); });
  EXPECT_NE(ori.find("orientation"), std::string::npos) << ori;
  // A side without keypoints: no matches, no error.
  LocalFeatures none = empty_features(128, 100, 80, false);
  auto r = lg->match({{&none, &good}, {&good, &none}});
  EXPECT_EQ(r[0].matches0.numel(), 0);
  EXPECT_TRUE((r[1].matches0 == -1).all().item<bool>());
}

TEST(BadInput, PipelineOptionsAreChecked) {
  auto unknown = error_of([] { parse_pipeline_options({{"extractr", "sift"}}, "local_sift"); });
  EXPECT_NE(unknown.find("local_sift"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("extractr"), std::string::npos) << unknown;
  auto number = error_of([] { parse_pipeline_options({{"max_keypoints", "many"}}, "p"); });
  EXPECT_NE(number.find("max_keypoints"), std::string::npos) << number;
  auto weights = error_of([] { parse_pipeline_options({{"matcher", "lightglue"}}, "p"); });
  EXPECT_NE(weights.find("lightglue_weights"), std::string::npos) << weights;
  auto aliked = error_of([] { parse_pipeline_options({{"extractor", "aliked"}}, "p"); });
  EXPECT_NE(aliked.find("weights"), std::string::npos) << aliked;
  auto variant = error_of([] { parse_pipeline_options({{"extractor", "aliked-x9"}, {"weights", "w.pth"}}, "p"); });
  EXPECT_NE(variant.find("aliked-x9"), std::string::npos) << variant;
}

}  // namespace
}  // namespace wildreid::matching
