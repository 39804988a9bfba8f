// See lightglue.h. The batch keeps only the pairs still running; rows leave it when they exit
// early and are re-packed when they prune. Results are mapped back to each pair's original
// keypoint indices through the per-slot index tensors.
#include "matching/lightglue.h"

#include <ATen/ATen.h>

#include <stdexcept>

#include "matching/lightglue_batch.h"

namespace wildreid::matching {

struct LightGlueImpl::Batch {
  std::vector<size_t> rows;  // position in the caller's pair list of each active row
  at::Tensor desc[2], enc[2], mask[2], index[2];
  at::Tensor points;         // [A] float: M + N of each pair, for the exit criterion
  at::Tensor counts[2];      // [A] original keypoints per side (CPU)
  at::Tensor pruned[2];      // [A] bool (CPU): the side lost points

  void select(const at::Tensor& keep) {  // keep: CPU int64 row indices
    const at::Tensor dev_keep = keep.to(desc[0].device());
    std::vector<size_t> kept;
    for (int64_t i = 0; i < keep.numel(); ++i) kept.push_back(rows[keep[i].item<int64_t>()]);
    rows = std::move(kept);
    for (int s = 0; s < 2; ++s) {
      desc[s] = desc[s].index_select(0, dev_keep);
      enc[s] = enc[s].index_select(1, dev_keep);
      if (mask[s].defined()) mask[s] = mask[s].index_select(0, dev_keep);
      index[s] = index[s].index_select(0, dev_keep);
      counts[s] = counts[s].index_select(0, keep);
      pruned[s] = pruned[s].index_select(0, keep);
    }
    points = points.index_select(0, dev_keep);
  }
};

LightGlueImpl::LightGlueImpl(const LightGlueOptions& options) : options_(options) {
  const int64_t d = options.descriptor_dim, heads = options.num_heads;
  if (d % heads != 0) throw std::invalid_argument("LightGlue: descriptor_dim must be divisible by num_heads");
  if (options.input_dim != d) input_proj_ = register_module("input_proj", torch::nn::Linear(options.input_dim, d));
  posenc_ = register_module("posenc", LightGluePositionalEncoding(options.add_scale_ori ? 4 : 2, d / heads));
  torch::nn::ModuleList transformers, assignment, confidence;
  for (int64_t i = 0; i < options.n_layers; ++i) {
    transformers_.push_back(LightGlueTransformerLayer(d, heads));
    transformers->push_back(transformers_.back());
    log_assignment_.push_back(LightGlueMatchAssignment(d));
    assignment->push_back(log_assignment_.back());
    if (i + 1 < options.n_layers) {
      token_confidence_.push_back(LightGlueTokenConfidence(d));
      confidence->push_back(token_confidence_.back());
    }
  }
  register_module("transformers", transformers);
  register_module("log_assignment", assignment);
  register_module("token_confidence", confidence);
  eval();
}

at::Device LightGlueImpl::device() const { return posenc_->parameters().front().device(); }

std::vector<LightGlueMatches> LightGlueImpl::match(const std::vector<FeaturePair>& pairs, bool with_log_assignment) {
  at::NoGradGuard no_grad;
  std::vector<LightGlueMatches> out(pairs.size());
  std::vector<const LocalFeatures*> side[2];
  Batch batch;
  for (size_t p = 0; p < pairs.size(); ++p) {
    const LocalFeatures* f[2] = {pairs[p].first, pairs[p].second};
    if (f[0]->size() == 0 || f[1]->size() == 0) {  // nothing to match: no layer runs
      out[p].matches0 = at::full({f[0]->size()}, -1, at::kLong);
      out[p].scores0 = at::zeros({f[0]->size()}, at::kFloat);
      continue;
    }
    side[0].push_back(f[0]);
    side[1].push_back(f[1]);
    batch.rows.push_back(p);
  }
  if (batch.rows.empty()) return out;

  const at::Device dev = device();
  for (int s = 0; s < 2; ++s) {
    PadOptions po{options_.input_dim, options_.add_scale_ori, options_.scale_coef, s, batch.rows};
    PaddedSide padded = pad_side(side[s], po);
    at::Tensor desc = padded.descriptors.to(dev);
    batch.desc[s] = input_proj_ ? input_proj_->forward(desc) : desc;
    batch.enc[s] = posenc_->forward(padded.coords.to(dev));
    if (padded.mask.defined()) batch.mask[s] = padded.mask.to(dev);
    batch.index[s] = padded.index.to(dev);
    batch.counts[s] = padded.counts;
    batch.pruned[s] = at::zeros({padded.counts.size(0)}, at::kBool);
  }
  batch.points = (batch.counts[0] + batch.counts[1]).to(at::kFloat).to(dev);

  const int64_t last = options_.n_layers - 1;
  for (int64_t i = 0; i <= last; ++i) {
    std::tie(batch.desc[0], batch.desc[1]) = transformers_[i]->forward(batch.desc[0], batch.desc[1], batch.enc[0],
                                                                       batch.enc[1], batch.mask[0], batch.mask[1]);
    if (i == last) break;
    at::Tensor tokens[2];
    const float threshold = static_cast<float>(lightglue_confidence_threshold(i, options_.n_layers));
    if (options_.depth_confidence > 0) {
      at::Tensor unconfident = at::zeros_like(batch.points);
      for (int s = 0; s < 2; ++s) {
        tokens[s] = token_confidence_[i]->forward(batch.desc[s]);
        at::Tensor low = tokens[s] < threshold;
        if (batch.mask[s].defined()) low &= batch.mask[s];
        unconfident += low.sum(1).to(at::kFloat);
      }
      at::Tensor stop = ((1.0 - unconfident / batch.points) > options_.depth_confidence).cpu();
      if (stop.any().item<bool>()) {
        finish(batch, i, stop.nonzero().select(1, 0), out, with_log_assignment);
        at::Tensor keep = (~stop).nonzero().select(1, 0);
        if (keep.numel() == 0) return out;
        batch.select(keep);
        const at::Tensor dev_keep = keep.to(dev);
        for (auto& t : tokens) t = t.index_select(0, dev_keep);
      }
    }
    if (options_.width_confidence > 0) {
      for (int s = 0; s < 2; ++s) prune(batch, s, i, tokens[s]);
    }
  }
  finish(batch, last, at::arange(static_cast<int64_t>(batch.rows.size()), at::kLong), out, with_log_assignment);
  return out;
}

void LightGlueImpl::prune(Batch& b, int s, int64_t layer, const at::Tensor& tokens) {
  const int64_t length = b.desc[s].size(1);
  at::Tensor counts = b.mask[s].defined() ? b.mask[s].sum(1) : at::full({b.desc[s].size(0)}, length,
                                                                        b.desc[s].options().dtype(at::kLong));
  const int64_t min_points =
      b.desc[s].is_cuda() ? options_.pruning_min_keypoints_cuda : options_.pruning_min_keypoints_cpu;
  at::Tensor eligible = counts > min_points;
  if (!eligible.any().item<bool>()) return;
  at::Tensor keep = log_assignment_[layer]->matchability(b.desc[s]) > (1.0 - options_.width_confidence);
  if (tokens.defined())
    keep |= tokens <= static_cast<float>(lightglue_confidence_threshold(layer, options_.n_layers));
  keep |= ~eligible.unsqueeze(1);
  if (b.mask[s].defined()) keep &= b.mask[s];
  at::Tensor kept = keep.sum(1);
  at::Tensor lost = (kept < counts).cpu();
  if (!lost.any().item<bool>()) return;
  b.pruned[s] |= lost;
  const int64_t new_length = std::max<int64_t>(kept.max().item<int64_t>(), 1);
  at::Tensor order = std::get<1>(keep.to(at::kByte).sort(/*stable=*/true, /*dim=*/1, /*descending=*/true))
                         .slice(1, 0, new_length);
  const int64_t d = b.desc[s].size(2), hd = b.enc[s].size(-1);
  b.desc[s] = b.desc[s].gather(1, order.unsqueeze(-1).expand({-1, -1, d}));
  b.enc[s] = b.enc[s].gather(3, order.view({1, order.size(0), 1, new_length, 1}).expand({2, -1, 1, -1, hd}));
  b.index[s] = b.index[s].gather(1, order);
  at::Tensor mask = keep.gather(1, order);
  b.mask[s] = mask.all().item<bool>() ? at::Tensor() : mask;
}

void LightGlueImpl::finish(Batch& b, int64_t layer, const at::Tensor& rows, std::vector<LightGlueMatches>& out,
                           bool with_log_assignment) {
  const at::Tensor dev_rows = rows.to(b.desc[0].device());
  auto pick = [&](const at::Tensor& t) { return t.defined() ? t.index_select(0, dev_rows) : t; };
  at::Tensor mask0 = pick(b.mask[0]), mask1 = pick(b.mask[1]);
  if (mask0.defined() != mask1.defined()) {  // the assignment masks both sides or neither
    if (!mask0.defined()) mask0 = at::ones({rows.numel(), b.desc[0].size(1)}, mask1.options());
    if (!mask1.defined()) mask1 = at::ones({rows.numel(), b.desc[1].size(1)}, mask0.options());
  }
  at::Tensor scores = log_assignment_[layer]->forward(pick(b.desc[0]), pick(b.desc[1]), mask0, mask1);
  const int64_t m = scores.size(1) - 1, n = scores.size(2) - 1;
  at::Tensor core = scores.slice(1, 0, m).slice(2, 0, n);
  auto [max0, best0] = core.max(2);
  at::Tensor best1 = std::get<1>(core.max(1));
  at::Tensor mutual0 = at::arange(m, best0.options()).unsqueeze(0) == best1.gather(1, best0);
  at::Tensor mscores0 = at::where(mutual0, max0.exp(), at::zeros({}, max0.options()));
  at::Tensor valid0 = mutual0 & (mscores0 > options_.filter_threshold);
  if (mask0.defined()) valid0 &= mask0;
  // Slot -> original keypoint index on both sides.
  at::Tensor index0 = pick(b.index[0]), index1 = pick(b.index[1]);
  at::Tensor partner = index1.gather(1, best0);
  valid0 = valid0.cpu();
  index0 = index0.cpu();
  partner = partner.cpu();
  mscores0 = mscores0.to(at::kFloat).cpu();
  if (with_log_assignment) scores = scores.cpu();
  for (int64_t r = 0; r < rows.numel(); ++r) {
    const int64_t row = rows[r].item<int64_t>();
    const size_t pair = b.rows[row];
    const int64_t count0 = b.counts[0][row].item<int64_t>(), count1 = b.counts[1][row].item<int64_t>();
    LightGlueMatches& res = out[pair];
    res.matches0 = at::full({count0}, -1, at::kLong);
    res.scores0 = at::zeros({count0}, at::kFloat);
    res.layers = layer + 1;
    at::Tensor slots = valid0[r].nonzero().select(1, 0);
    if (slots.numel() > 0) {
      at::Tensor k0 = index0[r].index_select(0, slots);
      res.matches0.index_put_({k0}, partner[r].index_select(0, slots));
      res.scores0.index_put_({k0}, mscores0[r].index_select(0, slots));
    }
    if (with_log_assignment && !b.pruned[0][row].item<bool>() && !b.pruned[1][row].item<bool>()) {
      at::Tensor s = scores[r];
      at::Tensor top = at::cat({s.slice(0, 0, count0).slice(1, 0, count1), s.slice(0, 0, count0).slice(1, n, n + 1)}, 1);
      at::Tensor bottom = at::cat({s.slice(0, m, m + 1).slice(1, 0, count1), s.slice(0, m, m + 1).slice(1, n, n + 1)}, 1);
      res.log_assignment = at::cat({top, bottom}, 0);
    }
  }
}

}  // namespace wildreid::matching
