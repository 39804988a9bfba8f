// See lightglue_layers.h. The arithmetic follows kornia's CPU path: self-attention through
// scaled_dot_product_attention, cross-attention as one similarity matrix with a softmax each way
// (queries and keys pre-scaled by head_dim^-1/4; on a GPU two fused attention calls instead),
// NaN rows of fully masked (padded) queries zeroed as kornia's nan_to_num does, exact-erf GELU,
// LayerNorm eps 1e-5.
#include "matching/lightglue_layers.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/normalization.h>

#include <cmath>
#include <limits>

namespace wildreid::matching {
namespace {

torch::nn::Sequential make_ffn(int64_t dim) {
  return torch::nn::Sequential(torch::nn::Linear(2 * dim, 2 * dim),
                               torch::nn::LayerNorm(torch::nn::LayerNormOptions({2 * dim})), torch::nn::GELU(),
                               torch::nn::Linear(2 * dim, dim));
}

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

LightGlueSelfBlockImpl::LightGlueSelfBlockImpl(int64_t dim, int64_t heads) : heads_(heads) {
  wqkv_ = register_module("Wqkv", torch::nn::Linear(dim, 3 * dim));
  out_proj_ = register_module("out_proj", torch::nn::Linear(dim, dim));
  ffn_ = register_module("ffn", make_ffn(dim));
}

at::Tensor LightGlueSelfBlockImpl::forward(const at::Tensor& x, const at::Tensor& encoding, const at::Tensor& mask) {
  at::Tensor qkv = wqkv_->forward(x).unflatten(-1, {heads_, -1, 3}).transpose(1, 2);  // [B, H, N, hd, 3]
  at::Tensor q = apply_rotary(encoding, qkv.select(-1, 0)).contiguous();
  at::Tensor k = apply_rotary(encoding, qkv.select(-1, 1)).contiguous();
  at::Tensor v = qkv.select(-1, 2).contiguous();
  at::Tensor context;
  if (mask.defined()) {
    context = at::scaled_dot_product_attention(q, k, v, pair_mask(mask, mask)).nan_to_num();
  } else {
    context = at::scaled_dot_product_attention(q, k, v);
  }
  at::Tensor message = out_proj_->forward(context.transpose(1, 2).flatten(-2));
  return x + ffn_->forward(at::cat({x, message}, -1));
}

LightGlueCrossBlockImpl::LightGlueCrossBlockImpl(int64_t dim, int64_t heads) : heads_(heads) {
  to_qk_ = register_module("to_qk", torch::nn::Linear(dim, dim));
  to_v_ = register_module("to_v", torch::nn::Linear(dim, dim));
  to_out_ = register_module("to_out", torch::nn::Linear(dim, dim));
  ffn_ = register_module("ffn", make_ffn(dim));
}

std::pair<at::Tensor, at::Tensor> LightGlueCrossBlockImpl::forward(const at::Tensor& x0, const at::Tensor& x1,
                                                                   const at::Tensor& mask0, const at::Tensor& mask1) {
  auto heads = [&](const at::Tensor& t) { return t.unflatten(-1, {heads_, -1}).transpose(1, 2); };
  at::Tensor qk0 = heads(to_qk_->forward(x0)), qk1 = heads(to_qk_->forward(x1));
  at::Tensor v0 = heads(to_v_->forward(x0)), v1 = heads(to_v_->forward(x1));
  const double scale = std::pow(static_cast<double>(qk0.size(-1)), -0.5);
  const bool masked = mask0.defined();
  at::Tensor m0, m1;
  if (!x0.is_cpu()) {
    // GPU: two fused attention kernels instead of materialising [B, H, M, N] three times (the
    // same arithmetic up to rounding; kornia takes its flash path here too).
    const at::Tensor mask01 = masked ? pair_mask(mask0, mask1) : at::Tensor();
    const at::Tensor mask10 = masked ? mask01.transpose(-1, -2) : at::Tensor();
    m0 = at::scaled_dot_product_attention(qk0, qk1, v1, mask01, 0.0, false, scale);
    m1 = at::scaled_dot_product_attention(qk1, qk0, v0, mask10, 0.0, false, scale);
  } else {
    qk0 = qk0 * std::sqrt(scale);
    qk1 = qk1 * std::sqrt(scale);
    at::Tensor sim = at::matmul(qk0, qk1.transpose(-1, -2));  // [B, H, M, N]
    if (masked) sim = sim.masked_fill(~pair_mask(mask0, mask1), -std::numeric_limits<float>::infinity());
    m0 = at::matmul(at::softmax(sim, -1), v1);
    m1 = at::matmul(at::softmax(sim.transpose(-2, -1).contiguous(), -1), v0);
  }
  if (masked) {
    m0 = m0.nan_to_num();
    m1 = m1.nan_to_num();
  }
  m0 = to_out_->forward(m0.transpose(1, 2).flatten(-2));
  m1 = to_out_->forward(m1.transpose(1, 2).flatten(-2));
  return {x0 + ffn_->forward(at::cat({x0, m0}, -1)), x1 + ffn_->forward(at::cat({x1, m1}, -1))};
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
