// See timm_init.h. Formulas follow torch.nn.init and timm.layers.weight_init.
#include "models/timm_init.h"

#include <ATen/ATen.h>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "models/layers.h"

namespace wildreid::models::timm_init {

struct ParallelInit::Fill {
  enum class Kind { kUniform, kNormal, kTruncNormal, kConstant } kind;
  at::Tensor tensor;
  double a = 0, b = 0;  // from/to, mean/std, std, value
};

namespace {

thread_local std::vector<ParallelInit::Fill>* t_queue = nullptr;
constexpr int64_t kChunk = int64_t{1} << 20;

void apply(const ParallelInit::Fill& f, at::Tensor t, const std::optional<at::Generator>& generator) {
  using Kind = ParallelInit::Fill::Kind;
  switch (f.kind) {
    case Kind::kUniform:
      t.uniform_(f.a, f.b, generator);
      break;
    case Kind::kNormal:
      t.normal_(f.a, f.b, generator);
      break;
    case Kind::kTruncNormal: {
      // timm's (and PyTorch's) inverse-CDF method: uniform in [2F(a)-1, 2F(b)-1], erfinv, scale, clamp.
      const double std = f.a, lo = -2.0, hi = 2.0;
      auto cdf = [std](double x) { return (1.0 + std::erf(x / std / std::sqrt(2.0))) / 2.0; };
      t.uniform_(2 * cdf(lo) - 1, 2 * cdf(hi) - 1, generator);
      t.erfinv_().mul_(std * std::sqrt(2.0)).clamp_(lo, hi);
      break;
    }
    case Kind::kConstant:
      t.fill_(f.a);
      break;
  }
}

// Runs `f` now, or queues it under a ParallelInit.
void fill(ParallelInit::Fill f) {
  if (t_queue) {
    t_queue->push_back(std::move(f));
    return;
  }
  at::NoGradGuard no_grad;
  apply(f, f.tensor, std::nullopt);
}

uint64_t mix(uint64_t z) {  // SplitMix64's finaliser
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

ParallelInit::ParallelInit() : queue_(new std::vector<Fill>()) {
  if (t_queue) {
    delete queue_;
    throw std::logic_error("timm_init::ParallelInit: one is already active on this thread");
  }
  t_queue = queue_;
}

ParallelInit::~ParallelInit() {
  if (t_queue == queue_) t_queue = nullptr;
  delete queue_;
}

void ParallelInit::run() {
  // The last fill of each tensor wins, as it would if they ran in order.
  std::unordered_map<const void*, size_t> last;
  for (size_t i = 0; i < queue_->size(); ++i) last[(*queue_)[i].tensor.unsafeGetTensorImpl()] = i;
  struct Chunk {
    const Fill* fill;
    int64_t offset, length;  // -1 length: the whole (non-contiguous) tensor
  };
  std::vector<Chunk> chunks;
  for (size_t i = 0; i < queue_->size(); ++i) {
    const Fill& f = (*queue_)[i];
    if (last[f.tensor.unsafeGetTensorImpl()] != i || f.tensor.numel() == 0) continue;
    if (!f.tensor.is_contiguous() || f.tensor.device().type() != at::kCPU) {
      chunks.push_back({&f, 0, -1});
      continue;
    }
    for (int64_t offset = 0; offset < f.tensor.numel(); offset += kChunk)
      chunks.push_back({&f, offset, std::min(kChunk, f.tensor.numel() - offset)});
  }
  uint64_t base = 0;
  {
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    base = generator.get<at::CPUGeneratorImpl>()->random64();
  }
  at::parallel_for(0, static_cast<int64_t>(chunks.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const Chunk& c = chunks[static_cast<size_t>(i)];
      at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(mix(base ^ mix(static_cast<uint64_t>(i))));
      // detach(): the same storage without autograd, so no grad-mode guard is needed on the workers.
      at::Tensor t = c.fill->tensor.detach();
      if (c.length >= 0) t = t.view({-1}).narrow(0, c.offset, c.length);
      apply(*c.fill, t, generator);
    }
  });
  queue_->clear();
}

std::vector<Layer> layers(torch::nn::Module& root) {
  std::vector<Layer> out;
  for (const auto& item : root.named_modules(/*name_prefix=*/"", /*include_self=*/false)) {
    torch::nn::Module* m = item.value().get();
    Layer layer;
    if (auto* l = dynamic_cast<LinearImpl*>(m)) {
      layer = linear_layer(item.key(), l->weight, l->bias);
    } else if (auto* c = dynamic_cast<Conv2dImpl*>(m)) {
      const int64_t receptive = c->weight.size(2) * c->weight.size(3);
      layer.name = item.key();
      layer.weight = c->weight;
      layer.bias = c->bias;
      layer.fan_in = c->weight.size(1) * receptive;
      layer.fan_out = c->weight.size(0) * receptive;
      layer.groups = c->args.groups;
      layer.conv = true;
    } else {
      continue;
    }
    out.push_back(std::move(layer));
  }
  return out;
}

void trunc_normal(at::Tensor t, double std) { fill({ParallelInit::Fill::Kind::kTruncNormal, std::move(t), std, 0}); }
void normal(at::Tensor t, double mean, double std) { fill({ParallelInit::Fill::Kind::kNormal, std::move(t), mean, std}); }
void uniform(at::Tensor t, double from, double to) { fill({ParallelInit::Fill::Kind::kUniform, std::move(t), from, to}); }

void torch_default(const Layer& layer) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(layer.fan_in));
  timm_init::uniform(layer.weight, -bound, bound);
  if (layer.bias.defined()) timm_init::uniform(layer.bias, -bound, bound);
}

void xavier_uniform(const Layer& layer) {
  const double bound = std::sqrt(6.0 / static_cast<double>(layer.fan_in + layer.fan_out));
  timm_init::uniform(layer.weight, -bound, bound);
}

void fan_out_normal(const Layer& layer) {
  const double fan_out = static_cast<double>(layer.fan_out / layer.groups);
  timm_init::normal(layer.weight, 0.0, std::sqrt(2.0 / fan_out));
}

void trunc_normal_zero_bias(const Layer& layer, double std) {
  trunc_normal(layer.weight, std);
  zero_bias(layer);
}

Layer linear_layer(const std::string& name, const at::Tensor& weight, const at::Tensor& bias) {
  Layer layer;
  layer.name = name;
  layer.weight = weight;
  layer.bias = bias;
  layer.fan_in = weight.size(1);
  layer.fan_out = weight.size(0);
  return layer;
}

void zero_bias(const Layer& layer) {
  if (layer.bias.defined()) fill({ParallelInit::Fill::Kind::kConstant, layer.bias, 0.0, 0});
}

void reset_layer_norms(torch::nn::Module& root) {
  at::NoGradGuard no_grad;
  for (const auto& m : root.modules(/*include_self=*/false)) {
    if (auto* n = dynamic_cast<LayerNormImpl*>(m.get())) {
      n->weight.fill_(1.0);
      n->bias.zero_();
    }
  }
}

bool ends_with(const std::string& name, const std::string& suffix) {
  return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace wildreid::models::timm_init
