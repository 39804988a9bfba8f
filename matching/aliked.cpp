// See aliked.h. The input is replicate-padded around its centre to multiples of 32 and the maps are
// cropped back (kornia's InputPadder), so keypoints do not move with the padding.
#include "matching/aliked.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/activation.h>

#include <stdexcept>

namespace wildreid::matching {
namespace {

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).padding(kernel / 2).bias(false));
}

at::Tensor upsample(const at::Tensor& x, int64_t factor) {
  return at::upsample_bilinear2d(x, {x.size(2) * factor, x.size(3) * factor}, /*align_corners=*/true);
}

}  // namespace

AlikedImpl::AlikedImpl(const AlikedOptions& options) : options_(options), variant_(aliked_variant(options.variant)) {
  if (options.nms_radius < 0) throw std::invalid_argument("ALIKED: nms_radius must be >= 0");
  const auto& v = variant_;
  block1_ = register_module("block1", AlikedConvBlock(3, v.c1, false));
  block2_ = register_module("block2", AlikedResBlock(v.c1, v.c2, false));
  block3_ = register_module("block3", AlikedResBlock(v.c2, v.c3, true));
  block4_ = register_module("block4", AlikedResBlock(v.c3, v.c4, true));
  conv1_ = register_module("conv1", conv(v.c1, v.dim / 4, 1));
  conv2_ = register_module("conv2", conv(v.c2, v.dim / 4, 1));
  conv3_ = register_module("conv3", conv(v.c3, v.dim / 4, 1));
  conv4_ = register_module("conv4", conv(v.dim, v.dim / 4, 1));
  score_head_ = register_module("score_head",
                                torch::nn::Sequential(conv(v.dim, 8, 1), torch::nn::SELU(), conv(8, 4, 3),
                                                      torch::nn::SELU(), conv(4, 4, 3), torch::nn::SELU(), conv(4, 1, 3)));
  desc_head_ = register_module("desc_head", AlikedDescriptorHead(v.dim, v.patch, v.positions));
  // kornia: top-k when the threshold is not positive, threshold mode (capped) otherwise.
  detect_.radius = options.nms_radius;
  detect_.top_k = options.detection_threshold > 0 ? -1 : options.max_keypoints;
  detect_.score_threshold = options.detection_threshold;
  detect_.limit = options.max_keypoints > 0 ? options.max_keypoints : 20000;
  eval();
}

std::pair<at::Tensor, at::Tensor> AlikedImpl::dense_maps(const at::Tensor& input) {
  if (input.dim() != 4 || (input.size(1) != 3 && input.size(1) != 1))
    throw std::invalid_argument("ALIKED: image must be [B, 3, H, W] or [B, 1, H, W], got " + c10::str(input.sizes()));
  at::Tensor image = input.size(1) == 1 ? input.expand({-1, 3, -1, -1}) : input;
  const int64_t h = image.size(2), w = image.size(3);
  const int64_t pad_h = ((h / 32 + 1) * 32 - h) % 32, pad_w = ((w / 32 + 1) * 32 - w) % 32;
  const int64_t left = pad_w / 2, top = pad_h / 2;
  if (pad_h || pad_w) image = at::replication_pad2d(image, {left, pad_w - left, top, pad_h - top});

  at::Tensor x1 = block1_->forward(image);
  at::Tensor x2 = block2_->forward(at::avg_pool2d(x1, 2, 2));
  at::Tensor x3 = block3_->forward(at::avg_pool2d(x2, 4, 4));
  at::Tensor x4 = block4_->forward(at::avg_pool2d(x3, 4, 4));
  x1 = at::selu(conv1_->forward(x1));
  x2 = at::selu(conv2_->forward(x2));
  x3 = at::selu(conv3_->forward(x3));
  x4 = at::selu(conv4_->forward(x4));
  at::Tensor x1234 = at::cat({x1, upsample(x2, 2), upsample(x3, 8), upsample(x4, 32)}, 1);
  at::Tensor score_map = at::sigmoid(score_head_->forward(x1234));
  at::Tensor feature_map = x1234 / x1234.norm(2, 1, true).clamp_min(1e-12);
  auto crop = [&](const at::Tensor& t) { return t.slice(2, top, top + h).slice(3, left, left + w); };
  return {crop(feature_map), crop(score_map)};
}

LocalFeatures AlikedImpl::extract(const at::Tensor& image) {
  if (image.dim() != 4 || image.size(0) != 1)
    throw std::invalid_argument("ALIKED: extract takes one image [1, C, H, W], got " + c10::str(image.sizes()));
  auto [feature_map, score_map] = dense_maps(image);
  Detections d = detect_keypoints(score_map, detect_);
  LocalFeatures f;
  f.descriptors = desc_head_->forward(feature_map, d.keypoints);
  const int64_t h = image.size(2), w = image.size(3);
  at::Tensor wh = at::tensor({static_cast<float>(w - 1), static_cast<float>(h - 1)}, d.keypoints.options());
  f.keypoints = wh * (d.keypoints + 1) / 2.0;
  f.scores = d.scores;
  f.width = w;
  f.height = h;
  return f;
}

}  // namespace wildreid::matching
