// ALIKED (Zhao et al. 2023) in LibTorch, the network kornia 0.9 ships, with kornia's parameter
// names so its state dicts and the published `aliked-*.pth` checkpoints load by name: a four-stage
// ResNet-style backbone (deformable convolutions in stages 3 and 4), multi-scale fusion into one
// L2-normalised feature map, a score head, keypoint detection (aliked_detect.h) and the deformable
// descriptor head (aliked_descriptor_head.h). Eval-mode inference only.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

#include <string>
#include <utility>

#include "matching/aliked_blocks.h"
#include "matching/aliked_config.h"
#include "matching/aliked_descriptor_head.h"
#include "matching/aliked_detect.h"
#include "matching/local_features.h"

namespace wildreid::matching {

// Defaults are kornia's ALIKED() defaults; the pipeline's own (wildlife-tools') are set by the
// extractor options.
struct AlikedOptions {
  std::string variant = "aliked-n16";
  int64_t max_keypoints = -1;        // keypoint budget (top-k when threshold <= 0)
  double detection_threshold = 0.2;  // > 0: threshold mode
  int64_t nms_radius = 2;
};

class AlikedImpl : public torch::nn::Module {
 public:
  explicit AlikedImpl(const AlikedOptions& options);
  // image [1, 3, H, W] (or [1, 1, H, W], repeated to RGB) float RGB in [0, 1]. Returns
  // (feature_map [1, dim, H, W], score_map [1, 1, H, W]).
  std::pair<at::Tensor, at::Tensor> dense_maps(const at::Tensor& image);
  // Keypoints in pixels of `image`, descriptors, scores; width/height set from the image.
  LocalFeatures extract(const at::Tensor& image);
  const AlikedOptions& options() const { return options_; }
  const AlikedVariant& variant() const { return variant_; }

 private:
  AlikedOptions options_;
  AlikedVariant variant_;
  DetectOptions detect_;
  AlikedConvBlock block1_{nullptr};
  AlikedResBlock block2_{nullptr}, block3_{nullptr}, block4_{nullptr};
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr}, conv4_{nullptr};
  torch::nn::Sequential score_head_{nullptr};
  AlikedDescriptorHead desc_head_{nullptr};
};
TORCH_MODULE(Aliked);

}  // namespace wildreid::matching
