// LightGlue (Lindenberger et al. 2023) in LibTorch, as kornia 0.9 implements it, with its parameter
// names, for many pairs at once: the pairs of a call are padded to common keypoint counts with
// validity masks and run as one batch. Adaptive depth and width act per pair inside the batch: a
// pair that meets its exit criterion leaves the batch with its assignment from that layer, and each
// pair prunes its own points (the batch is re-packed to the longest survivor), so every pair gets
// the matches it gets alone. (kornia runs such batches pair by pair, or stops a batch only when
// every pair may stop.)
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>

#include <vector>

#include "matching/lightglue_config.h"
#include "matching/lightglue_layers.h"
#include "matching/local_features.h"

namespace wildreid::matching {

// One pair's outcome, on CPU.
struct LightGlueMatches {
  at::Tensor matches0;        // [M] int64: index into image 1's keypoints, -1 when unmatched
  at::Tensor scores0;         // [M] float: the match's confidence (0 when unmatched)
  int64_t layers = 0;         // transformer layers run (early exit makes it < n_layers)
  at::Tensor log_assignment;  // [M+1, N+1] when requested and no point of the pair was pruned
};

class LightGlueImpl : public torch::nn::Module {
 public:
  explicit LightGlueImpl(const LightGlueOptions& options);
  // Matches every pair in one padded batch on this module's device. Throws std::invalid_argument
  // naming the pair when descriptors have the wrong width, scales/orientations are missing for a
  // SIFT model, or keypoints lie outside their image.
  std::vector<LightGlueMatches> match(const std::vector<FeaturePair>& pairs, bool with_log_assignment = false);
  const LightGlueOptions& options() const { return options_; }
  at::Device device() const;

 private:
  struct Batch;
  void finish(Batch& batch, int64_t layer, const at::Tensor& rows, std::vector<LightGlueMatches>& out,
              bool with_log_assignment);
  void prune(Batch& batch, int side, int64_t layer, const at::Tensor& tokens);

  LightGlueOptions options_;
  torch::nn::Linear input_proj_{nullptr};
  LightGluePositionalEncoding posenc_{nullptr};
  std::vector<LightGlueTransformerLayer> transformers_;
  std::vector<LightGlueMatchAssignment> log_assignment_;
  std::vector<LightGlueTokenConfidence> token_confidence_;
};
TORCH_MODULE(LightGlue);

}  // namespace wildreid::matching
