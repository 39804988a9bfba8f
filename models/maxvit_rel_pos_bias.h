// timm's RelPosBiasTf (the TensorFlow MaxViT relative position bias): a learned table
// [heads, 2*wh-1, 2*ww-1]; the bias of query (i,j) for key (x,y) is table[:, x-i+wh-1, y-j+ww-1]
// (key minus query, unlike Swin). timm builds it with one-hot einsums; the equivalent gather index
// is computed here and never stored in the state dict.
#pragma once
#include <torch/nn/module.h>

namespace wildreid::models {

// [wh*ww, wh*ww] int64 index into the flattened [(2wh-1)*(2ww-1)] table, key minus query.
at::Tensor maxvit_relative_position_index(int64_t wh, int64_t ww);

class MaxVitRelPosBiasImpl : public torch::nn::Module {
 public:
  MaxVitRelPosBiasImpl(int64_t window_h, int64_t window_w, int64_t num_heads);
  at::Tensor bias();  // [heads, N, N]

  at::Tensor relative_position_bias_table;

 private:
  int64_t num_heads_, window_area_;
  at::Tensor index_;  // not registered
};
TORCH_MODULE(MaxVitRelPosBias);

}  // namespace wildreid::models
