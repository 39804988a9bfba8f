// Activation checkpointing for one block (LibTorch has no torch.utils.checkpoint, pytorch #52744):
// a custom autograd Function runs the block keeping none of its activations, saves only its input plus
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

// Runs a stage's blocks in order, each checkpointed when `checkpointing` is set: the one loop
// every family's stage uses (blocks are module holders with forward(const at::Tensor&)).
template <typename Blocks>
at::Tensor run_blocks(Blocks& blocks, at::Tensor x, bool checkpointing) {
  for (auto& block : blocks) {
    if (checkpointing) {
      auto* b = block.get();
      x = checkpoint_block([b](const at::Tensor& t) { return b->forward(t); }, x);
    } else {
      x = block->forward(x);
    }
  }
  return x;
}

}  // namespace wildreid::models
