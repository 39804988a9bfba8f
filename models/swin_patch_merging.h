// Swin's 2x downsampling (timm's PatchMerging): gather each 2x2 neighbourhood into 4C channels in
// timm's order (flatten of [.., 2(w), 2(h), C], i.e. x0,x1,x2,x3 = (0,0),(1,0),(0,1),(1,1)), LayerNorm,
// then a bias-free Linear to the output width. NHWC in and out; odd sides are zero-padded first.
#pragma once
#include <torch/nn/module.h>

#include "models/layers.h"

namespace wildreid::models {

class SwinPatchMergingImpl : public torch::nn::Module {
 public:
  SwinPatchMergingImpl(int64_t dim, int64_t out_dim);
  at::Tensor forward(const at::Tensor& x);

  LayerNorm norm{nullptr};
  Linear reduction{nullptr};
};
TORCH_MODULE(SwinPatchMerging);

}  // namespace wildreid::models
