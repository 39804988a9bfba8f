// See lightglue_layers.h. The functions are kornia's; the arithmetic is rearranged where that saves
// time without changing the result beyond fp32 rounding (the parity tests hold it to kornia within
// 1e-4): cross-attention as two fused attention calls instead of one similarity matrix with a
// softmax each way (kornia's GPU path), the message projection folded into the MLP, the
// query/key and value projections in one GEMM. NaN rows of fully masked (padded) queries are
// zeroed as kornia's nan_to_num does; GELU is exact (erf), LayerNorm eps 1e-5.
#include "matching/lightglue_layers.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/normalization.h>

#include <cmath>
#include <limits>

namespace wildreid::matching {
namespace {

// (x1, x2) pairs of the last dimension -> (-x2, x1).
at::Tensor rotate_half(const at::Tensor& x) {
  at::Tensor pairs = x.unflatten(-1, {-1, 2});
  return at::stack({-pairs.select(-1, 1), pairs.select(-1, 0)}, -1).flatten(-2);
}

at::Tensor apply_rotary(const at::Tensor& freqs, const at::Tensor& t) { return t * freqs[0] + rotate_half(t) * freqs[1]; }

// [B, N] validity -> [B, 1, N, N'] pairwise mask.
at::Tensor pair_mask(const at::Tensor& a, const at::Tensor& b) { return a.unsqueeze(1).unsqueeze(3) & b.unsqueeze(1).unsqueeze(2); }

}  // namespace

LightGluePositionalEncodingImpl::LightGluePositionalEncodingImpl(int64_t coords, int64_t head_dim) {
  wr_ = register_module("Wr", torch::nn::Linear(torch::nn::LinearOptions(coords, head_dim / 2).bias(false)));
}

at::Tensor LightGluePositionalEncodingImpl::forward(const at::Tensor& x) {
  at::Tensor projected = wr_->forward(x);
  at::Tensor emb = at::stack({projected.cos(), projected.sin()}, 0).unsqueeze(-3);
  return emb.repeat_interleave(2, -1);
}

LightGlueFeedForwardImpl::LightGlueFeedForwardImpl(int64_t dim) : dim_(dim) {
  in_ = register_module("0", torch::nn::Linear(2 * dim, 2 * dim));
  norm_ = register_module("1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({2 * dim})));
  out_ = register_module("3", torch::nn::Linear(2 * dim, dim));
}

at::Tensor LightGlueFeedForwardImpl::forward(const at::Tensor& x, const at::Tensor& context,
                                             const torch::nn::Linear& projection) {
  const at::Tensor w_x = in_->weight.slice(1, 0, dim_), w_m = in_->weight.slice(1, dim_, 2 * dim_);
  const at::Tensor folded = at::matmul(w_m, projection->weight);                  // [2D, D]
  const at::Tensor bias = at::addmv(in_->bias, w_m, projection->bias);            // [2D]
  at::Tensor h = at::linear(x, w_x, bias);
  h.view({-1, 2 * dim_}).addmm_(context.reshape({-1, dim_}), folded.t());
  return out_->forward(at::gelu(norm_->forward(h)));
}

LightGlueSelfBlockImpl::LightGlueSelfBlockImpl(int64_t dim, int64_t heads) : heads_(heads) {
  wqkv_ = register_module("Wqkv", torch::nn::Linear(dim, 3 * dim));
  out_proj_ = register_module("out_proj", torch::nn::Linear(dim, dim));
  ffn_ = register_module("ffn", LightGlueFeedForward(dim));
}

at::Tensor LightGlueSelfBlockImpl::forward(const at::Tensor& x, const at::Tensor& encoding, const at::Tensor& mask) {
  at::Tensor qkv = wqkv_->forward(x).unflatten(-1, {heads_, -1, 3}).transpose(1, 2);  // [B, H, N, hd, 3]
  // q and k come out of the rotary ops with a unit-stride last dimension, which attention takes as is.
  at::Tensor q = apply_rotary(encoding, qkv.select(-1, 0));
  at::Tensor k = apply_rotary(encoding, qkv.select(-1, 1));
  at::Tensor v = qkv.select(-1, 2).contiguous();
  at::Tensor context;
  if (mask.defined()) {
    context = at::scaled_dot_product_attention(q, k, v, pair_mask(mask, mask)).nan_to_num();
  } else {
    context = at::scaled_dot_product_attention(q, k, v);
  }
  return x + ffn_->forward(x, context.transpose(1, 2).flatten(-2), out_proj_);
}

LightGlueCrossBlockImpl::LightGlueCrossBlockImpl(int64_t dim, int64_t heads) : heads_(heads) {
  to_qk_ = register_module("to_qk", torch::nn::Linear(dim, dim));
  to_v_ = register_module("to_v", torch::nn::Linear(dim, dim));
  to_out_ = register_module("to_out", torch::nn::Linear(dim, dim));
  ffn_ = register_module("ffn", LightGlueFeedForward(dim));
}

std::pair<at::Tensor, at::Tensor> LightGlueCrossBlockImpl::forward(const at::Tensor& x0, const at::Tensor& x1,
                                                                   const at::Tensor& mask0, const at::Tensor& mask1) {
  // One GEMM per image for the shared query/key and the value projections.
  const at::Tensor w = at::cat({to_qk_->weight, to_v_->weight}), b = at::cat({to_qk_->bias, to_v_->bias});
  auto project = [&](const at::Tensor& x) {
    auto parts = at::linear(x, w, b).unflatten(-1, {2, heads_, -1}).permute({2, 0, 3, 1, 4});  // [2, B, H, N, hd]
    return std::make_pair(parts[0], parts[1]);
  };
  auto [qk0, v0] = project(x0);
  auto [qk1, v1] = project(x1);
  const double scale = std::pow(static_cast<double>(qk0.size(-1)), -0.5);
  at::Tensor m0, m1;
  if (mask0.defined()) {
    const at::Tensor mask01 = pair_mask(mask0, mask1);
    m0 = at::scaled_dot_product_attention(qk0, qk1, v1, mask01, 0.0, false, scale).nan_to_num();
    m1 = at::scaled_dot_product_attention(qk1, qk0, v0, mask01.transpose(-1, -2), 0.0, false, scale).nan_to_num();
  } else {
    m0 = at::scaled_dot_product_attention(qk0, qk1, v1, {}, 0.0, false, scale);
    m1 = at::scaled_dot_product_attention(qk1, qk0, v0, {}, 0.0, false, scale);
  }
  return {x0 + ffn_->forward(x0, m0.transpose(1, 2).flatten(-2), to_out_),
          x1 + ffn_->forward(x1, m1.transpose(1, 2).flatten(-2), to_out_)};
}

LightGlueTransformerLayerImpl::LightGlueTransformerLayerImpl(int64_t dim, int64_t heads) {
  self_attn_ = register_module("self_attn", LightGlueSelfBlock(dim, heads));
  cross_attn_ = register_module("cross_attn", LightGlueCrossBlock(dim, heads));
}

std::pair<at::Tensor, at::Tensor> LightGlueTransformerLayerImpl::forward(const at::Tensor& desc0,
                                                                         const at::Tensor& desc1,
                                                                         const at::Tensor& enc0,
                                                                         const at::Tensor& enc1,
                                                                         const at::Tensor& mask0,
                                                                         const at::Tensor& mask1) {
  at::Tensor d0 = self_attn_->forward(desc0, enc0, mask0);
  at::Tensor d1 = self_attn_->forward(desc1, enc1, mask1);
  return cross_attn_->forward(d0, d1, mask0, mask1);
}

LightGlueMatchAssignmentImpl::LightGlueMatchAssignmentImpl(int64_t dim) {
  matchability_ = register_module("matchability", torch::nn::Linear(dim, 1));
  final_proj_ = register_module("final_proj", torch::nn::Linear(dim, dim));
}

at::Tensor LightGlueMatchAssignmentImpl::forward(const at::Tensor& desc0, const at::Tensor& desc1,
                                                 const at::Tensor& mask0, const at::Tensor& mask1) {
  const double norm = std::pow(static_cast<double>(desc0.size(-1)), 0.25);
  at::Tensor mdesc0 = final_proj_->forward(desc0) / norm, mdesc1 = final_proj_->forward(desc1) / norm;
  at::Tensor sim = at::matmul(mdesc0, mdesc1.transpose(-1, -2));  // [B, M, N]
  at::Tensor z0 = matchability_->forward(desc0), z1 = matchability_->forward(desc1);  // [B, M, 1], [B, N, 1]
  const int64_t b = sim.size(0), m = sim.size(1), n = sim.size(2);
  at::Tensor valid;
  if (mask0.defined()) {
    valid = mask0.unsqueeze(2) & mask1.unsqueeze(1);
    sim = sim.masked_fill(~valid, -std::numeric_limits<float>::infinity());
  }
  at::Tensor certainties = at::log_sigmoid(z0) + at::log_sigmoid(z1).transpose(1, 2);
  at::Tensor scores0 = at::log_softmax(sim, 2);
  at::Tensor scores1 = at::log_softmax(sim.transpose(-1, -2).contiguous(), 2).transpose(-1, -2);
  at::Tensor scores = at::zeros({b, m + 1, n + 1}, sim.options());
  at::Tensor core = scores0 + scores1 + certainties;
  if (valid.defined()) core = core.masked_fill(~valid, -std::numeric_limits<float>::infinity());
  scores.slice(1, 0, m).slice(2, 0, n).copy_(core);
  scores.slice(1, 0, m).select(2, n).copy_(at::log_sigmoid(-z0.squeeze(-1)));
  scores.select(1, m).slice(1, 0, n).copy_(at::log_sigmoid(-z1.squeeze(-1)));
  return scores;
}

at::Tensor LightGlueMatchAssignmentImpl::matchability(const at::Tensor& desc) {
  return at::sigmoid(matchability_->forward(desc)).squeeze(-1);
}

LightGlueTokenConfidenceImpl::LightGlueTokenConfidenceImpl(int64_t dim) {
  token_ = register_module("token", torch::nn::Sequential(torch::nn::Linear(dim, 1), torch::nn::Sigmoid()));
}

at::Tensor LightGlueTokenConfidenceImpl::forward(const at::Tensor& desc) { return token_->forward(desc).squeeze(-1); }

}  // namespace wildreid::matching
