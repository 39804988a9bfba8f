// See memory_plan.h.
#include "trainer/memory_plan.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
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

struct Probe {
  double bytes = 0;  // peak of the step above what existed before it (weights, gradients)
  int64_t parameters = 0;
};

// One forward + backward at `batch` with gradients already allocated, as in every accumulation
// micro-step after the first.
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
  }
  loss.backward();
  out.bytes = static_cast<double>(counter.peak());
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

// What one configuration of the model costs, from its step peaks at two micro-batches.
struct Fit {
  ActivationCost activations;
  int64_t parameters = 0;
};
Fit fit(const std::string& arch, const models::ModelOptions& options, AmpMode amp, const ProbeOptions& probes,
        int64_t& runs) {
  const Probe small = probe(arch, options, amp, probes.small_batch);
  const Probe large = probe(arch, options, amp, probes.large_batch);
  runs += 2;
  Fit out;
  out.activations.per_image = (large.bytes - small.bytes) / static_cast<double>(probes.large_batch - probes.small_batch);
  out.activations.fixed = small.bytes - out.activations.per_image * static_cast<double>(probes.small_batch);
  out.parameters = small.parameters;
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
  models::ModelOptions full;
  full.num_classes = num_classes;
  full.img_size = cost.img_size;
  full.init_weights = false;  // shapes only
  {
    auto model = models::create_model(arch, full);
    for (const auto& p : model->parameters()) cost.parameters += p.numel();
    for (const auto& b : model->buffers()) cost.buffer_bytes += static_cast<int64_t>(b.nbytes());
    cost.depths = stage_depths(*model);
  }
  if (cost.depths.empty()) throw std::runtime_error("plan: no blocks found in '" + arch + "'");
  const Variants variants = variants_of(cost.depths);
  auto variant = [&](size_t i, int64_t size, bool checkpointing) {
    models::ModelOptions o = full;
    o.img_size = size;
    o.init_weights = true;  // real values: no denormals or NaNs steering kernels
    o.grad_checkpointing = checkpointing;
    o.arch_overrides = depth_override(entry.spec.family, variants.depths[i]);
    return o;
  };
  try {
    // Forward MACs at the real size (forward only, one image), scaled by depth.
    std::vector<double> macs;
    for (size_t i = 0; i < variants.depths.size(); ++i)
      macs.push_back(static_cast<double>(forward_macs(arch, variant(i, cost.img_size, false))));
    cost.forward_macs = macs.front();
    for (size_t i = 1; i < macs.size(); ++i) cost.forward_macs += variants.extra[i - 1] * (macs[i] - macs.front());

    // Activations in fp32 at the probe size, scaled by depth, then by pixels to the real size.
    const double pixels = std::pow(static_cast<double>(cost.img_size) / static_cast<double>(cost.probe_size), 2.0);
    for (bool checkpointing : {false, true}) {
      if (checkpointing && !options.checkpointing) continue;
      std::vector<Fit> fits;
      for (size_t i = 0; i < variants.depths.size(); ++i)
        fits.push_back(fit(arch, variant(i, cost.probe_size, checkpointing), AmpMode::kOff, options, cost.probe_runs));
      ActivationCost a = fits.front().activations;
      for (size_t i = 1; i < fits.size(); ++i) {
        a.per_image += variants.extra[i - 1] * (fits[i].activations.per_image - fits.front().activations.per_image);
        a.fixed += variants.extra[i - 1] * (fits[i].activations.fixed - fits.front().activations.fixed);
      }
      a.per_image *= pixels;
      // Autocast: the ratio of low-precision to fp32 activations per image and the low-precision
      // weight copies, measured on the one-block-per-stage model at the small precision size
      // (low-precision matmuls are slow on CPUs without native bf16/fp16 units).
      if (amp != AmpMode::kOff) {
        const models::ModelOptions small = variant(0, options.precision_size, checkpointing);
        const Fit fp32 = fit(arch, small, AmpMode::kOff, options, cost.probe_runs);
        const Fit low = fit(arch, small, amp, options, cost.probe_runs);
        a.per_image *= low.activations.per_image / fp32.activations.per_image;
        a.fixed += (low.activations.fixed - fp32.activations.fixed) * static_cast<double>(cost.parameters) /
                   static_cast<double>(low.parameters);
      }
      (checkpointing ? cost.checkpointed : cost.plain) = a;
    }
  } catch (const c10::Error& e) {
    throw std::runtime_error("plan: '" + arch + "' at " + std::to_string(cost.img_size) + " px (probes at " +
                             std::to_string(cost.probe_size) + " px): " + e.what_without_backtrace());
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
