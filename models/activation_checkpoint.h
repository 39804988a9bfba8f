// Activation checkpointing for one block (LibTorch has no torch.utils.checkpoint, pytorch #52744):
// a custom autograd Function runs the block without recording a graph, saves only its input plus
// the RNG and autocast state, and in backward re-runs the block with grad enabled under the same
// RNG/autocast state, then back-propagates through the re-run. Parameter gradients accumulate
// during that nested backward (the "reentrant" variant of PyTorch's checkpoint).
#pragma once
#include <ATen/Tensor.h>

#include <functional>

namespace wildreid::models {

using BlockFn = std::function<at::Tensor(const at::Tensor&)>;

// Runs block(x), checkpointed when grad mode is on and x requires grad (otherwise nothing needs
// recomputing and the block runs normally).
at::Tensor checkpoint_block(const BlockFn& block, const at::Tensor& x);

}  // namespace wildreid::models
