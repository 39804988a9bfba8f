// Multiply-accumulates (MACs) of what runs on this thread while a ForwardMacCounter exists,
// counted from each op's shapes as it executes (ATen RecordFunction callbacks), so a model's
// cost comes from its real forward rather than from a formula kept beside it: convolutions
// (output elements x input channels per group x kernel area), linear / matmul / mm / addmm / bmm /
// baddbmm (output elements x inner dimension) and scaled_dot_product_attention (QK^T and the
// weighted sum of V). Only the outermost counted op is counted (linear's addmm is not counted
// again). Elementwise ops, norms and softmax are left out, the convention of timm's and fvcore's
// GMAC figures. Training FLOPs ~ 6 x forward MACs (forward 2, backward 4 FLOPs per MAC).
#pragma once
#include <cstdint>

namespace wildreid::models {

class ForwardMacCounter {
 public:
  ForwardMacCounter();   // starts counting on this thread (zero)
  ~ForwardMacCounter();  // stops
  ForwardMacCounter(const ForwardMacCounter&) = delete;
  ForwardMacCounter& operator=(const ForwardMacCounter&) = delete;
  int64_t macs() const;

 private:
  uint64_t handle_;
};

}  // namespace wildreid::models
