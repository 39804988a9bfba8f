// LightGlue's layers with kornia 0.9's parameter names (`posenc.Wr`, `transformers.i.self_attn.*`,
// `transformers.i.cross_attn.*`, `log_assignment.i.*`, `token_confidence.i.token.0`), written for a
// batch of pairs padded to common lengths: every attention and the assignment take the keypoint
// validity masks, so a padded pair gives the result it gives alone.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include <utility>

namespace wildreid::matching {

// Learnable Fourier features: [B, N, M] coordinates -> rotary (cos, sin) [2, B, 1, N, head_dim].
class LightGluePositionalEncodingImpl : public torch::nn::Module {
 public:
  LightGluePositionalEncodingImpl(int64_t coords, int64_t head_dim);
  at::Tensor forward(const at::Tensor& x);

 private:
  torch::nn::Linear wr_{nullptr};
};
TORCH_MODULE(LightGluePositionalEncoding);

// The MLP every block ends with, on [x, message] where message = projection(context): kornia's
// `ffn` (Linear 2D->2D, LayerNorm, GELU, Linear 2D->D; names ffn.0, ffn.1, ffn.3). The message
// projection is folded into the first layer's message half (one GEMM fewer per block, no concat):
// [x, c P^T + p] W^T = x Wx^T + c (Wm P)^T + (b + Wm p), the same function up to fp32 rounding.
class LightGlueFeedForwardImpl : public torch::nn::Module {
 public:
  explicit LightGlueFeedForwardImpl(int64_t dim);
  // x [B, N, D], context [B, N, D], projection: the block's output Linear(D, D).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& context, const torch::nn::Linear& projection);

 private:
  int64_t dim_;
  torch::nn::Linear in_{nullptr}, out_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
};
TORCH_MODULE(LightGlueFeedForward);

// Self-attention within one image with rotary encoding, then the gated MLP on [x, message].
class LightGlueSelfBlockImpl : public torch::nn::Module {
 public:
  LightGlueSelfBlockImpl(int64_t dim, int64_t heads);
  // mask: [B, N] bool (true = real keypoint) or undefined when nothing is padded.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& encoding, const at::Tensor& mask);

 private:
  int64_t heads_;
  torch::nn::Linear wqkv_{nullptr}, out_proj_{nullptr};
  LightGlueFeedForward ffn_{nullptr};
};
TORCH_MODULE(LightGlueSelfBlock);

// Bidirectional cross-attention with one shared query/key projection: softmax(q0 q1^T) v1 and
// softmax(q1 q0^T) v0, each one fused attention call.
class LightGlueCrossBlockImpl : public torch::nn::Module {
 public:
  LightGlueCrossBlockImpl(int64_t dim, int64_t heads);
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& x0, const at::Tensor& x1, const at::Tensor& mask0,
                                            const at::Tensor& mask1);

 private:
  int64_t heads_;
  torch::nn::Linear to_qk_{nullptr}, to_v_{nullptr}, to_out_{nullptr};
  LightGlueFeedForward ffn_{nullptr};
};
TORCH_MODULE(LightGlueCrossBlock);

class LightGlueTransformerLayerImpl : public torch::nn::Module {
 public:
  LightGlueTransformerLayerImpl(int64_t dim, int64_t heads);
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& desc0, const at::Tensor& desc1, const at::Tensor& enc0,
                                            const at::Tensor& enc1, const at::Tensor& mask0, const at::Tensor& mask1);

 private:
  LightGlueSelfBlock self_attn_{nullptr};
  LightGlueCrossBlock cross_attn_{nullptr};
};
TORCH_MODULE(LightGlueTransformerLayer);

// Dual-softmax assignment with matchability: the [B, M+1, N+1] log-assignment matrix (last row and
// column: the "unmatched" bins). Entries between a padded keypoint and anything are -inf.
class LightGlueMatchAssignmentImpl : public torch::nn::Module {
 public:
  explicit LightGlueMatchAssignmentImpl(int64_t dim);
  at::Tensor forward(const at::Tensor& desc0, const at::Tensor& desc1, const at::Tensor& mask0,
                     const at::Tensor& mask1);
  at::Tensor matchability(const at::Tensor& desc);  // sigmoid, [B, N]

 private:
  torch::nn::Linear matchability_{nullptr}, final_proj_{nullptr};
};
TORCH_MODULE(LightGlueMatchAssignment);

// Per-token confidence that the token's match will not change in later layers (sigmoid, [B, N]).
class LightGlueTokenConfidenceImpl : public torch::nn::Module {
 public:
  explicit LightGlueTokenConfidenceImpl(int64_t dim);
  at::Tensor forward(const at::Tensor& desc);

 private:
  torch::nn::Sequential token_{nullptr};
};
TORCH_MODULE(LightGlueTokenConfidence);

}  // namespace wildreid::matching
