// This rank's random generator states (CPU, plus the current CUDA device's when present) as one
// uint8 tensor of fixed size, so rank 0 can allgather them into a checkpoint and each rank
// restores its own on resume (drop path and any other torch randomness replay exactly).
#pragma once
#include <ATen/ATen.h>

namespace wildreid::trainer {

at::Tensor capture_rng_state();               // CPU uint8
void restore_rng_state(const at::Tensor& state);  // throws if the size does not match

}  // namespace wildreid::trainer
