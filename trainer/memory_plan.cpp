// See memory_plan.h.
#include "trainer/memory_plan.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <map>
#include <regex>
#include <stdexcept>

#include "models/cpu_memory_counter.h"
#include "models/forward_macs.h"
#include "models/registry.h"
#include "trainer/amp.h"

namespace wildreid::trainer {
namespace {

// Blocks per stage, from parameter names ("stages.2.blocks.13.", "layers.0.blocks.1.", "blocks.7.").
std::vector<int64_t> stage_depths(const models::Backbone& model) {
  static const std::regex block(R"(^(.*?)blocks\.(\d+)\.)");
  std::vector<std::string> stages;
  std::map<std::string, int64_t> depth;
  for (const auto& item : model.named_parameters()) {
    std::smatch m;
    if (!std::regex_search(item.key(), m, block)) continue;
    const std::string stage = m[1].str();
    if (!depth.count(stage)) stages.push_back(stage);
    depth[stage] = std::max<int64_t>(depth[stage], std::stoll(m[2].str()) + 1);
  }
  std::vector<int64_t> out;
  for (const auto& s : stages) out.push_back(depth[s]);
  return out;
}

// The timm kwarg that sets the depths: ViT has one stack ("depth"), the others stages ("depths").
std::string depth_override(const std::string& family, const std::vector<int64_t>& depths) {
  if (family == "vit") return R"({"depth": )" + std::to_string(depths.at(0)) + "}";
  std::string list;
  for (size_t i = 0; i < depths.size(); ++i) list += (i ? ", " : "") + std::to_string(depths[i]);
  return R"({"depths": [)" + list + "]}";
}

// The live bytes at the two moments a step's peak can fall on, and the peaks around them.
struct Probe {
  double held = 0;      // end of the forward, still inside autocast: saved tensors + autocast's cast cache
  double saved = 0;     // after leaving autocast (cache cleared): what the graph holds for backward
  double forward_peak = 0, backward_peak = 0;
  int64_t parameters = 0;
};

// One forward + backward at `batch` with gradients already allocated, as in every accumulation
// micro-step after the first. Bytes are counted from after the model and its gradients exist.
// Autocast caches the low-precision copy of every weight it casts until its scope ends: with
// checkpointing the graph does not keep those copies, but the cache holds all of them at the end
// of the forward, so that moment is read apart from the one backward starts from.
Probe probe(const std::string& arch, const models::ModelOptions& options, AmpMode amp, int64_t batch) {
  at::manual_seed(0);
  auto model = models::create_model(arch, options);
  model->train();
  Probe out;
  for (auto& p : model->parameters()) {
    p.mutable_grad() = at::zeros_like(p);
    out.parameters += p.numel();
  }
  models::CpuMemoryCounter counter;
  const int64_t size = options.img_size;
  const at::Tensor images = at::randn({batch, 3, size, size});
  const at::Tensor labels = at::zeros({batch}, at::kLong);
  at::Tensor loss;
  {
    AutocastScope autocast(amp, at::kCPU);
    loss = at::cross_entropy_loss(model->forward(images).to(at::kFloat), labels);
    out.held = static_cast<double>(counter.current());
    out.forward_peak = static_cast<double>(counter.peak());
  }
  out.saved = static_cast<double>(counter.current());
  counter.reset_peak();
  loss.backward();
  out.backward_peak = static_cast<double>(counter.peak());
  return out;
}

// Forward multiply-accumulates of one image (no autograd, fp32).
int64_t forward_macs(const std::string& arch, const models::ModelOptions& options) {
  auto model = models::create_model(arch, options);
  model->eval();
  at::NoGradGuard no_grad;
  const at::Tensor image = at::randn({1, 3, options.img_size, options.img_size});
  models::ForwardMacCounter macs;
  model->forward(image);
  return macs.macs();
}

// One depth variant's step at the two micro-batches.
struct Fit {
  Probe small, large;
};
Fit fit(const std::string& arch, const models::ModelOptions& options, AmpMode amp, const ProbeOptions& probes,
        int64_t& runs) {
  Fit out{probe(arch, options, amp, probes.small_batch), probe(arch, options, amp, probes.large_batch)};
  runs += 2;
  if (std::getenv("WILDREID_PLAN_TRACE"))
    for (const Probe* p : {&out.small, &out.large})
      std::fprintf(stderr, "plan probe %s %s %lld px checkpointing %d: held %.2f MB (forward peak %.2f), saved %.2f MB "
                   "(backward peak %.2f)\n", arch.c_str(), options.arch_overrides.c_str(),
                   static_cast<long long>(options.img_size), static_cast<int>(options.grad_checkpointing),
                   p->held / 1e6, p->forward_peak / 1e6, p->saved / 1e6, p->backward_peak / 1e6);
  return out;
}

// The depth variants: one block per stage, then one more block in each stage that has more.
struct Variants {
  std::vector<std::vector<int64_t>> depths;
  std::vector<double> extra;  // per variant after the first: blocks of the full model it stands for
};
Variants variants_of(const std::vector<int64_t>& full) {
  Variants v;
  v.depths.push_back(std::vector<int64_t>(full.size(), 1));
  for (size_t s = 0; s < full.size(); ++s)
    if (full[s] > 1) {
      v.depths.push_back(v.depths.front());
      v.depths.back()[s] = 2;
      v.extra.push_back(static_cast<double>(full[s] - 1));
    }
  return v;
}

}  // namespace

double ArchitectureCost::weight_bytes() const { return 4.0 * static_cast<double>(parameters) + buffer_bytes; }

double ArchitectureCost::state_bytes() const {
  // weights + gradients + reducer buckets + AdamW exp_avg and exp_avg_sq
  return weight_bytes() + 4.0 * 4.0 * static_cast<double>(parameters);
}

double ArchitectureCost::peak_bytes(int64_t micro_batch, bool checkpointing) const {
  return state_bytes() + (checkpointing ? checkpointed : plain).at(micro_batch);
}

namespace {

// An architecture's shape facts and the depth variants its activations are measured on.
struct Shape {
  const models::RegistryEntry* entry = nullptr;
  int64_t parameters = 0, buffer_bytes = 0;
  std::vector<int64_t> depths;
  Variants variants;
  models::ModelOptions variant(size_t i, const models::ModelOptions& base, int64_t size, bool checkpointing) const {
    models::ModelOptions o = base;
    o.img_size = size;
    o.init_weights = true;  // real values: no denormals or NaNs steering kernels
    o.grad_checkpointing = checkpointing;
    o.arch_overrides = depth_override(entry->spec.family, variants.depths[i]);
    return o;
  }
};

Shape shape_of(const std::string& arch, const models::ModelOptions& full) {
  Shape s;
  s.entry = &models::registry().at(arch);
  models::ModelOptions shapes_only = full;
  shapes_only.init_weights = false;
  auto model = models::create_model(arch, shapes_only);
  for (const auto& p : model->parameters()) s.parameters += p.numel();
  for (const auto& b : model->buffers()) s.buffer_bytes += static_cast<int64_t>(b.nbytes());
  s.depths = stage_depths(*model);
  if (s.depths.empty()) throw std::runtime_error("plan: no blocks found in '" + arch + "'");
  s.variants = variants_of(s.depths);
  return s;
}

// Activations of the full-depth model at `size` (not scaled to another size), without and with
// checkpointing. What the graph saves grows with depth (each block adds its saved tensors and,
// under autocast, its weight casts; with checkpointing, autocast's cast cache holds every weight
// copy until the forward's scope ends): scaled by depth. What backward adds on top of what is
// saved (gradients of one layer's activations, one weight gradient) and what the forward adds on
// top of what it holds are transients of the largest layer, not sums over layers: the largest
// over the variants, not scaled by depth. With checkpointing, backward also re-runs one block,
// which then holds what that block saves without checkpointing: the largest block's saved bytes
// (from the runs without checkpointing) plus that backward's transient are a third candidate
// moment, measured apart because at small probes a fixed transient (the largest weight gradient)
// hides the per-image part of the re-run's. The step's peak is the largest candidate; per-image
// and fixed parts come from the two probe batches.
struct StepActivations {
  ActivationCost plain, checkpointed;
};
StepActivations activations_of(const std::string& arch, const Shape& shape, const models::ModelOptions& full,
                               int64_t size, AmpMode amp, const ProbeOptions& options, int64_t& runs) {
  const Variants& variants = shape.variants;
  std::vector<Fit> plain, ckpt;
  for (size_t i = 0; i < variants.depths.size(); ++i)
    plain.push_back(fit(arch, shape.variant(i, full, size, false), amp, options, runs));
  if (options.checkpointing)
    for (size_t i = 0; i < variants.depths.size(); ++i)
      ckpt.push_back(fit(arch, shape.variant(i, full, size, true), amp, options, runs));
  struct Moments {
    double held = 0, saved = 0, forward_transient = 0, backward_transient = 0, largest_block = 0;
  };
  auto moments = [&](const std::vector<Fit>& fits, Probe Fit::*batch) {
    const Probe& base = fits.front().*batch;
    Moments m{base.held, base.saved};
    for (size_t i = 0; i < fits.size(); ++i) {
      const Probe& v = fits[i].*batch;
      if (i > 0) {
        m.held += variants.extra[i - 1] * (v.held - base.held);
        m.saved += variants.extra[i - 1] * (v.saved - base.saved);
        m.largest_block = std::max(m.largest_block, v.held - base.held);
      }
      m.forward_transient = std::max(m.forward_transient, v.forward_peak - v.held);
      m.backward_transient = std::max(m.backward_transient, v.backward_peak - v.saved);
    }
    return m;
  };
  auto plain_peak = [&](Probe Fit::*batch) {
    const Moments m = moments(plain, batch);
    return std::max(m.held + m.forward_transient, m.saved + m.backward_transient);
  };
  auto ckpt_peak = [&](Probe Fit::*batch) {
    const Moments m = moments(ckpt, batch), p = moments(plain, batch);
    // (No variants when every stage has one block: the base holds the only re-run.)
    const double block = variants.extra.empty() ? 0 : p.largest_block;
    return std::max({m.held + m.forward_transient, m.saved + m.backward_transient,
                     m.saved + block + p.backward_transient});
  };
  auto linear = [&](double small, double large) {
    ActivationCost a;
    a.per_image = (large - small) / static_cast<double>(options.large_batch - options.small_batch);
    a.fixed = small - a.per_image * static_cast<double>(options.small_batch);
    return a;
  };
  StepActivations out;
  out.plain = linear(plain_peak(&Fit::small), plain_peak(&Fit::large));
  if (options.checkpointing) out.checkpointed = linear(ckpt_peak(&Fit::small), ckpt_peak(&Fit::large));
  return out;
}

}  // namespace

ArchitectureCost measure_architecture(const std::string& arch, int64_t img_size, int64_t num_classes, AmpMode amp,
                                      const ProbeOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const models::RegistryEntry& entry = models::registry().at(arch);
  ArchitectureCost cost;
  cost.arch = entry.spec.name;
  cost.img_size = img_size > 0 ? img_size : entry.spec.input_size;
  cost.num_classes = num_classes;
  cost.amp = amp;
  cost.probe_size = options.probe_size > 0 ? options.probe_size : cost.img_size;
  cost.precision_arch = amp != AmpMode::kOff ? options.precision_arch : "";
  models::ModelOptions full;
  full.num_classes = num_classes;
  full.img_size = cost.img_size;
  const Shape shape = shape_of(arch, full);
  cost.parameters = shape.parameters;
  cost.buffer_bytes = shape.buffer_bytes;
  cost.depths = shape.depths;
  const Variants& variants = shape.variants;
  std::string where = "'" + arch + "' at " + std::to_string(cost.img_size) + " px (probes at " +
                      std::to_string(cost.probe_size) + " px)";
  try {
    // Forward MACs at the real size (forward only, one image), scaled by depth.
    std::vector<double> macs;
    for (size_t i = 0; i < variants.depths.size(); ++i)
      macs.push_back(static_cast<double>(forward_macs(arch, shape.variant(i, full, cost.img_size, false))));
    cost.forward_macs = macs.front();
    for (size_t i = 1; i < macs.size(); ++i) cost.forward_macs += variants.extra[i - 1] * (macs[i] - macs.front());

    // Activations at the probe size, scaled by the pixels to the real size; at the AMP mode, or in
    // fp32 with autocast's effect measured on a smaller model of the family (precision_arch).
    const double pixels = std::pow(static_cast<double>(cost.img_size) / static_cast<double>(cost.probe_size), 2.0);
    const AmpMode probe_amp = cost.precision_arch.empty() ? amp : AmpMode::kOff;
    StepActivations step = activations_of(arch, shape, full, cost.probe_size, probe_amp, options, cost.probe_runs);
    step.plain.per_image *= pixels;
    step.checkpointed.per_image *= pixels;
    if (!cost.precision_arch.empty()) {
      where = "'" + cost.precision_arch + "' at " + std::to_string(options.precision_size) + " px";
      models::ModelOptions small_full = full;
      small_full.img_size = options.precision_size;
      const Shape small = shape_of(cost.precision_arch, small_full);
      if (small.entry->spec.family != entry.spec.family)
        throw std::invalid_argument("plan: --precision-from '" + cost.precision_arch + "' is a " +
                                    small.entry->spec.family + " model, '" + arch + "' a " + entry.spec.family);
      const StepActivations fp32 = activations_of(cost.precision_arch, small, small_full, options.precision_size,
                                                  AmpMode::kOff, options, cost.probe_runs);
      const StepActivations low = activations_of(cost.precision_arch, small, small_full, options.precision_size, amp,
                                                 options, cost.probe_runs);
      // Per image: the family's low-precision / fp32 ratio. Fixed: the low-precision weight
      // copies, per parameter.
      auto apply = [&](ActivationCost& a, const ActivationCost& f, const ActivationCost& l) {
        a.per_image *= l.per_image / f.per_image;
        a.fixed += (l.fixed - f.fixed) * static_cast<double>(cost.parameters) / static_cast<double>(small.parameters);
      };
      apply(step.plain, fp32.plain, low.plain);
      if (options.checkpointing) apply(step.checkpointed, fp32.checkpointed, low.checkpointed);
    }
    cost.plain = step.plain;
    cost.checkpointed = step.checkpointed;
  } catch (const c10::Error& e) {
    throw std::runtime_error("plan: " + where + ": " + e.what_without_backtrace());
  }
  cost.probe_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return cost;
}

MicroBatchPlan plan_micro_batch(const ArchitectureCost& cost, const GpuBudget& budget, bool checkpointing) {
  MicroBatchPlan plan;
  plan.checkpointing = checkpointing;
  const double usable = budget.memory_bytes - budget.reserve_bytes;
  auto fits = [&](int64_t b) { return cost.peak_bytes(b, checkpointing) * (1.0 + budget.fragmentation) <= usable; };
  const ActivationCost& a = checkpointing ? cost.checkpointed : cost.plain;
  if (fits(1) && a.per_image > 0) {
    int64_t b = static_cast<int64_t>((usable / (1.0 + budget.fragmentation) - cost.state_bytes() - a.fixed) / a.per_image);
    while (b > 1 && !fits(b)) --b;
    while (fits(b + 1)) ++b;
    plan.max_micro_batch = std::max<int64_t>(1, b);
  }
  if (plan.max_micro_batch > 0) {
    plan.peak_bytes = cost.peak_bytes(plan.max_micro_batch, checkpointing) * (1.0 + budget.fragmentation);
    if (budget.effective_batch > 0) {
      const int64_t per_micro_step = plan.max_micro_batch * budget.world_size;
      plan.accumulation = std::max<int64_t>(1, (budget.effective_batch + per_micro_step - 1) / per_micro_step);
    }
  }
  // Training FLOPs per image: forward 2 x MACs, backward 4 x MACs, checkpointing's re-run forward 2 x MACs.
  const double flops = (checkpointing ? 8.0 : 6.0) * cost.forward_macs;
  if (flops > 0) plan.images_per_second = budget.mfu * budget.peak_tflops * 1e12 / flops;
  return plan;
}

double parse_memory_size(const std::string& text) {
  static const std::regex pattern(R"(^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:i?B)?\s*$)", std::regex::icase);
  std::smatch m;
  if (!std::regex_match(text, m, pattern))
    throw std::invalid_argument("memory size '" + text + "' is not a number with a unit such as 80GB");
  const double value = std::stod(m[1].str());
  const char unit = m[2].str().empty() ? 'G' : static_cast<char>(std::toupper(m[2].str()[0]));
  const double scale = unit == 'K' ? 1024.0 : unit == 'M' ? 1048576.0 : unit == 'T' ? 1099511627776.0 : 1073741824.0;
  return value * scale;
}

}  // namespace wildreid::trainer
