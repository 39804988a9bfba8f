// The whole per-sample path, JPEG bytes -> one output image slot, as plain functions with no
// shared state: the decode pool runs one call per sample, each with that sample's own RNG.
// Train: RandomResizedCrop (decoded reduced when the crop allows) -> flip -> rotation ->
// ColorJitter -> AutoAugment -> to CHW RGB (normalised float or uint8) -> RandomErasing.
// Eval: Resize(shorter side = size / crop_pct) + CenterCrop(size), or a square resize of the
// whole image (eval_squash) -> to CHW.
#pragma once
#include <cstdint>
#include <span>
#include <opencv2/core.hpp>

#include "data/sample_rng.h"
#include "data/transform_options.h"

namespace wildreid::data {

// Bytes per output image: 3 * size * size elements of float32 or uint8.
size_t output_image_bytes(const TransformOptions& options);

// Decode + crop/resize + geometric and colour augmentation; returns size x size 8-bit BGR.
// Throws DecodeError on undecodable bytes.
cv::Mat augment_image(std::span<const uint8_t> jpeg, const TransformOptions& options, SampleRng& rng);

// Writes `bgr` as CHW RGB into `out` (float normalised or uint8 per options.output).
void write_chw(const cv::Mat& bgr, const TransformOptions& options, void* out);

// RandomErasing on a CHW output slot (train only; no-op when erasing_p == 0).
void random_erase(const TransformOptions& options, SampleRng& rng, void* out);

// augment_image + write_chw + random_erase.
void transform_sample(std::span<const uint8_t> jpeg, const TransformOptions& options,
                      SampleRng& rng, void* out);

}  // namespace wildreid::data
