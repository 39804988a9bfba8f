// See swin_patch_merging.h.
#include "models/swin_patch_merging.h"

#include <ATen/ATen.h>

namespace wildreid::models {

SwinPatchMergingImpl::SwinPatchMergingImpl(int64_t dim, int64_t out_dim) {
  norm = register_module("norm", LayerNorm(4 * dim, 1e-5));
  reduction = register_module("reduction", Linear(4 * dim, out_dim, /*bias=*/false));
}

at::Tensor SwinPatchMergingImpl::forward(const at::Tensor& input) {
  at::Tensor x = input;
  const int64_t b = x.size(0), c = x.size(3);
  if (x.size(1) % 2 || x.size(2) % 2) x = at::constant_pad_nd(x, {0, 0, 0, x.size(2) % 2, 0, x.size(1) % 2});
  const int64_t h = x.size(1), w = x.size(2);
  x = x.reshape({b, h / 2, 2, w / 2, 2, c}).permute({0, 1, 3, 4, 2, 5}).flatten(3);
  return reduction->forward(norm->forward(x));
}

}  // namespace wildreid::models
