// Per-sample transforms: output shapes, dtypes and value ranges of the train and eval recipes,
// the JPEG header reader and reduced decode (same geometry as a full decode), PIL-semantics
// pixel ops, region decode equal to a cropped full decode, RandomResizedCrop/RandomErasing parameter bounds, and per-sample determinism.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <vector>

#include "data/auto_augment.h"
#include "data/geometry_ops.h"
#include "data/image_decode.h"
#include "data/jpeg_region_decode.h"
#include "data/pixel_ops.h"
#include "data/sample_transform.h"

using namespace wildreid::data;

namespace {
// A smooth colour gradient with a few shapes: reduced decode must give nearly the same result.
std::vector<uint8_t> jpeg_of(int width, int height, int quality = 92) {
  cv::Mat img(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>(255 * x / width),
                                          static_cast<uint8_t>(255 * y / height),
                                          static_cast<uint8_t>((x + y) % 256 / 2 + 64));
  cv::circle(img, {width / 3, height / 2}, std::min(width, height) / 5, {20, 200, 240}, -1);
  std::vector<uint8_t> out;
  cv::imencode(".jpg", img, out, {cv::IMWRITE_JPEG_QUALITY, quality});
  return out;
}
cv::Mat random_image(int side, uint64_t seed) {
  cv::Mat img(side, side, CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(img, cv::RNG::UNIFORM, 0, 256);
  return img;
}
}  // namespace

TEST(Transforms, JpegHeaderGivesTheImageSize) {
  const auto bytes = jpeg_of(321, 123);
  const auto size = jpeg_size(bytes);
  ASSERT_TRUE(size.has_value());
  EXPECT_EQ(size->width, 321);
  EXPECT_EQ(size->height, 123);
  const std::vector<uint8_t> garbage(100, 0x42);
  EXPECT_FALSE(jpeg_size(garbage).has_value());
  EXPECT_FALSE(jpeg_size(std::span<const uint8_t>(bytes.data(), 20)).has_value());
}

TEST(Transforms, ReductionFactorKeepsTheCropAtLeastTheOutput) {
  EXPECT_EQ(reduction_factor(2000, 1800, 224, 224), 8);
  EXPECT_EQ(reduction_factor(1000, 1000, 224, 224), 4);
  EXPECT_EQ(reduction_factor(448, 500, 224, 224), 2);
  EXPECT_EQ(reduction_factor(447, 500, 224, 224), 1);
  EXPECT_EQ(reduction_factor(100, 100, 384, 384), 1);
}

TEST(Transforms, ReducedDecodeKeepsGeometry) {
  const auto bytes = jpeg_of(1600, 1200);
  TransformOptions o;
  o.train = false;
  o.size = 160;
  SampleRng rng_a(1), rng_b(1);
  const cv::Mat full = [&] { auto p = o; p.reduced_decode = false; return augment_image(bytes, p, rng_a); }();
  const cv::Mat reduced = augment_image(bytes, o, rng_b);  // decoded at 1/4 or 1/8
  ASSERT_EQ(full.size(), reduced.size());
  cv::Mat diff;
  cv::absdiff(full, reduced, diff);
  const double mean_diff = cv::mean(diff)[0] + cv::mean(diff)[1] + cv::mean(diff)[2];
  EXPECT_LT(mean_diff / 3, 4.0) << "reduced decode moved or distorted the crop";
}

TEST(Transforms, RegionDecodeMatchesCroppedFullDecode) {
  const auto bytes = jpeg_of(640, 480);
  for (int factor : {1, 2, 4}) {
    const cv::Rect region(101, 57, 333, 250);  // not aligned to 8x8 or 16x16 blocks
    const auto part = decode_jpeg_region(bytes, factor, region);
    ASSERT_TRUE(part.has_value()) << "factor " << factor;
    const cv::Mat whole = decode_bgr(bytes, factor);
    const cv::Rect scaled(static_cast<int>(std::lround(region.x * whole.cols / 640.0)),
                          static_cast<int>(std::lround(region.y * whole.rows / 480.0)),
                          static_cast<int>(std::lround(region.width * whole.cols / 640.0)),
                          static_cast<int>(std::lround(region.height * whole.rows / 480.0)));
    ASSERT_EQ(part->size(), scaled.size()) << "factor " << factor;
    cv::Mat diff;
    cv::absdiff(*part, whole(scaled), diff);
    const cv::Scalar m = cv::mean(diff);
    EXPECT_LT((m[0] + m[1] + m[2]) / 3, 1.0) << "factor " << factor;
  }
  cv::Mat grey_image(120, 160, CV_8U);
  for (int y = 0; y < 120; ++y)
    for (int x = 0; x < 160; ++x) grey_image.at<uint8_t>(y, x) = static_cast<uint8_t>(x + y);
  std::vector<uint8_t> grey_jpeg;
  cv::imencode(".jpg", grey_image, grey_jpeg);  // a single-component JPEG
  const auto grey_part = decode_jpeg_region(grey_jpeg, 1, {10, 20, 50, 40});
  ASSERT_TRUE(grey_part.has_value());
  cv::Mat grey_diff;
  cv::absdiff(*grey_part, decode_bgr(grey_jpeg, 1)(cv::Rect(10, 20, 50, 40)), grey_diff);
  EXPECT_LE(cv::norm(grey_diff, cv::NORM_INF), 2.0);
  EXPECT_FALSE(decode_jpeg_region(std::vector<uint8_t>(64, 3), 1, {0, 0, 8, 8}).has_value());
  EXPECT_FALSE(decode_jpeg_region(std::span<const uint8_t>(bytes.data(), bytes.size() / 2), 1,
                                  {0, 0, 600, 400}).has_value());  // truncated: OpenCV path decides
}

TEST(Transforms, TrainRecipeFloatShapeAndRange) {
  const auto bytes = jpeg_of(300, 200);
  TransformOptions o = full_train_recipe(64);
  std::vector<float> out(3 * 64 * 64, -100.f);
  ASSERT_EQ(output_image_bytes(o), out.size() * sizeof(float));
  for (uint64_t seed = 0; seed < 20; ++seed) {
    SampleRng rng = SampleRng::for_record(seed, 0, 3);
    transform_sample(bytes, o, rng, out.data());
    for (int c = 0; c < 3; ++c) {
      const float lo = (0.f - o.mean[c]) / o.std[c] - 1e-5f, hi = (1.f - o.mean[c]) / o.std[c] + 1e-5f;
      for (int i = 0; i < 64 * 64; ++i) {
        const float v = out[static_cast<size_t>(c * 64 * 64 + i)];
        ASSERT_TRUE(v >= lo && v <= hi) << "channel " << c << " value " << v;
      }
    }
  }
}

TEST(Transforms, Uint8OutputIsRgbChw) {
  // A pure red image must land in channel 0 (RGB), whatever OpenCV's BGR order.
  cv::Mat red(50, 70, CV_8UC3, cv::Scalar(0, 0, 255));
  std::vector<uint8_t> bytes;
  cv::imencode(".png", red, bytes);  // lossless: exact values; also exercises the non-JPEG path
  TransformOptions o;
  o.train = false;
  o.size = 32;
  o.output = OutputFormat::kUint8;
  std::vector<uint8_t> out(output_image_bytes(o));
  ASSERT_EQ(out.size(), 3u * 32 * 32);
  SampleRng rng(0);
  transform_sample(bytes, o, rng, out.data());
  for (int i = 0; i < 32 * 32; ++i) {
    ASSERT_EQ(out[static_cast<size_t>(i)], 255);
    ASSERT_EQ(out[static_cast<size_t>(32 * 32 + i)], 0);
    ASSERT_EQ(out[static_cast<size_t>(2 * 32 * 32 + i)], 0);
  }
}

TEST(Transforms, SameRngSameOutputDifferentRngDifferent) {
  const auto bytes = jpeg_of(256, 256);
  const TransformOptions o = full_train_recipe(48);
  std::vector<float> a(3 * 48 * 48), b(a.size()), c(a.size());
  SampleRng r1 = SampleRng::for_record(1, 2, 3), r2 = SampleRng::for_record(1, 2, 3),
            r3 = SampleRng::for_record(1, 2, 4);
  transform_sample(bytes, o, r1, a.data());
  transform_sample(bytes, o, r2, b.data());
  transform_sample(bytes, o, r3, c.data());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(Transforms, UndecodableBytesThrowDecodeError) {
  std::vector<uint8_t> bytes = jpeg_of(64, 64);
  std::vector<uint8_t> header_only(bytes.begin(), bytes.begin() + 30);
  TransformOptions o;
  SampleRng rng(0);
  std::vector<float> out(output_image_bytes(o) / sizeof(float));
  EXPECT_THROW(transform_sample(std::vector<uint8_t>(50, 7), o, rng, out.data()), DecodeError);
  EXPECT_THROW(transform_sample(header_only, o, rng, out.data()), DecodeError);
  EXPECT_THROW(transform_sample(std::vector<uint8_t>{}, o, rng, out.data()), DecodeError);
}

TEST(Transforms, RandomResizedCropBoxStaysInsideAndInScale) {
  for (uint64_t s = 0; s < 500; ++s) {
    SampleRng rng(s);
    const auto box = geometry::random_resized_crop_box(300, 500, {0.08, 1.0}, {0.75, 4.0 / 3}, rng);
    ASSERT_GE(box.top, 0);
    ASSERT_GE(box.left, 0);
    ASSERT_LE(box.top + box.height, 300);
    ASSERT_LE(box.left + box.width, 500);
    const double area = static_cast<double>(box.height) * box.width / (300.0 * 500.0);
    ASSERT_GT(area, 0.07);
    ASSERT_LE(area, 1.0);
  }
  SampleRng rng(3);  // impossible scale: always the centre fallback, clamped to the ratio range
  const auto box = geometry::random_resized_crop_box(100, 400, {5.0, 6.0}, {0.75, 4.0 / 3}, rng);
  EXPECT_EQ(box.height, 100);
  EXPECT_EQ(box.width, 133);
  EXPECT_EQ(box.left, (400 - 133) / 2);
}

TEST(Transforms, RandomErasingFillsOneRectangleWithTheValue) {
  TransformOptions o;
  o.size = 40;
  o.erasing_p = 1.0;
  std::vector<float> out(3 * 40 * 40, 9.f);
  SampleRng rng(4);
  random_erase(o, rng, out.data());
  size_t erased = 0;
  for (float v : out) erased += v == 0.f;
  const size_t per_channel = erased / 3;
  EXPECT_EQ(erased % 3, 0u);
  EXPECT_GE(per_channel, static_cast<size_t>(0.02 * 1600 * 0.8));
  EXPECT_LE(per_channel, static_cast<size_t>(0.33 * 1600 * 1.2));
  o.erasing_p = 0.0;
  std::vector<float> untouched(3 * 40 * 40, 9.f);
  random_erase(o, rng, untouched.data());
  EXPECT_EQ(std::count(untouched.begin(), untouched.end(), 9.f), 4800);
}

TEST(Transforms, FlipMirrorsTheCrop) {
  const auto bytes = jpeg_of(200, 150);
  TransformOptions o;
  o.size = 50;
  o.hflip_p = 0.0;
  TransformOptions flipped = o;
  flipped.hflip_p = 1.0;
  SampleRng a(9), b(9);
  cv::Mat plain = augment_image(bytes, o, a), mirrored = augment_image(bytes, flipped, b);
  cv::flip(plain, plain, 1);
  EXPECT_EQ(cv::norm(plain, mirrored, cv::NORM_INF), 0.0);
}

TEST(Transforms, PixelOpsFollowPilSemantics) {
  cv::Mat img = random_image(17, 5), copy = img.clone();
  pixel::invert(copy);
  pixel::invert(copy);
  EXPECT_EQ(cv::norm(img, copy, cv::NORM_INF), 0.0);
  copy = img.clone();
  pixel::posterize(copy, 3);
  for (auto it = copy.begin<cv::Vec3b>(); it != copy.end<cv::Vec3b>(); ++it)
    for (int c = 0; c < 3; ++c) ASSERT_EQ((*it)[c] & 0x1F, 0);
  copy = img.clone();
  pixel::solarize(copy, 128);
  for (int y = 0; y < img.rows; ++y)
    for (int x = 0; x < img.cols; ++x)
      for (int c = 0; c < 3; ++c) {
        const int v = img.at<cv::Vec3b>(y, x)[c];
        ASSERT_EQ(copy.at<cv::Vec3b>(y, x)[c], v < 128 ? v : 255 - v);
      }
  copy = img.clone();
  pixel::adjust_brightness(copy, 0.5);  // PIL truncates: floor(v / 2)
  for (int y = 0; y < img.rows; ++y)
    for (int x = 0; x < img.cols; ++x)
      ASSERT_EQ(copy.at<cv::Vec3b>(y, x)[0], img.at<cv::Vec3b>(y, x)[0] / 2);
  cv::Mat low(10, 10, CV_8UC3);  // values 100..149 stretch to 0..255 under autocontrast
  for (int i = 0; i < 100; ++i) low.at<cv::Vec3b>(i / 10, i % 10) = cv::Vec3b::all(static_cast<uint8_t>(100 + i / 2));
  pixel::autocontrast(low);
  double lo, hi;
  cv::minMaxLoc(low.reshape(1), &lo, &hi);
  EXPECT_EQ(lo, 0);
  EXPECT_EQ(hi, 255);
  cv::Mat grey(8, 8, CV_8UC3, cv::Scalar(50, 120, 200));
  pixel::adjust_saturation(grey, 0.0);  // fully desaturated: all channels equal
  const cv::Vec3b g = grey.at<cv::Vec3b>(0, 0);
  EXPECT_EQ(g[0], g[1]);
  EXPECT_EQ(g[1], g[2]);
  copy = img.clone();
  pixel::equalize(copy);
  EXPECT_EQ(copy.size(), img.size());
  cv::Mat flat(8, 8, CV_8UC3, cv::Scalar(7, 7, 7));
  pixel::equalize(flat);  // a single level stays as it is
  EXPECT_EQ(flat.at<cv::Vec3b>(3, 3), cv::Vec3b(7, 7, 7));
}

TEST(Transforms, AutoAugmentChangesImagesAndKeepsShape) {
  const cv::Mat img = random_image(32, 8);
  int changed = 0;
  for (uint64_t s = 0; s < 40; ++s) {
    cv::Mat copy = img.clone();
    SampleRng rng(s);
    auto_augment_imagenet(copy, rng);
    ASSERT_EQ(copy.size(), img.size());
    ASSERT_EQ(copy.type(), CV_8UC3);
    changed += cv::norm(img, copy, cv::NORM_INF) > 0;
  }
  EXPECT_GT(changed, 20);
  EXPECT_LT(changed, 40);  // some draws skip both ops (e.g. probabilities 0.0/0.8)
}

TEST(Transforms, EvalRecipeIsDeterministicCentreCrop) {
  const auto bytes = jpeg_of(400, 300);
  TransformOptions o;
  o.train = false;
  o.size = 64;
  SampleRng a(1), b(999);  // eval uses no randomness
  EXPECT_EQ(cv::norm(augment_image(bytes, o, a), augment_image(bytes, o, b), cv::NORM_INF), 0.0);
  const auto box = geometry::resize_center_crop_box(300, 400, 73, 64);
  EXPECT_NEAR(box.height, 64 * 300.0 / 73, 1.0);
  // Centred up to torchvision's integer rounding in resized pixels (one resized pixel = 300/73).
  EXPECT_NEAR(box.top, (300 - box.height) / 2.0, 300.0 / 73);
  EXPECT_NEAR(box.left, (400 - box.width) / 2.0, 300.0 / 73);
}

TEST(Transforms, EvalSquashResizesTheWholeImage) {
  // A wide image whose left quarter is black and the rest white: the square resize keeps the black
  // quarter (the left 8 of 32 output columns); a centre crop keeps only the white middle.
  cv::Mat img(120, 360, CV_8UC3, cv::Scalar(255, 255, 255));
  img(cv::Rect(0, 0, 90, 120)).setTo(cv::Scalar(0, 0, 0));
  std::vector<uint8_t> png;
  cv::imencode(".png", img, png);
  TransformOptions o;
  o.train = false;
  o.size = 32;
  o.eval_squash = true;
  SampleRng rng(1);
  const cv::Mat squashed = augment_image(png, o, rng);
  ASSERT_EQ(squashed.size(), cv::Size(32, 32));
  EXPECT_LT(cv::mean(squashed(cv::Rect(0, 0, 7, 32)))[0], 5.0);
  EXPECT_GT(cv::mean(squashed(cv::Rect(9, 0, 23, 32)))[0], 250.0);
  o.eval_squash = false;
  EXPECT_GT(cv::mean(augment_image(png, o, rng))[0], 250.0);
  // JPEG input takes the reduced/region decode path: the same picture up to compression.
  std::vector<uint8_t> jpeg;
  cv::imencode(".jpg", img, jpeg, {cv::IMWRITE_JPEG_QUALITY, 95});
  o.eval_squash = true;
  EXPECT_LT(cv::norm(augment_image(jpeg, o, rng), squashed, cv::NORM_L1) / (32 * 32 * 3), 6.0);
}
