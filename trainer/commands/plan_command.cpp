// `trainer plan`: for a recipe and a GPU memory size, what a training step holds (weights,
// gradients, reducer buckets, AdamW state, activations per image with and without activation
// checkpointing at the recipe's AMP mode), the largest micro-batch that fits, the accumulation
// that gives train.effective_batch, and images/s from the measured forward MACs at a stated MFU.
// The activation and MAC figures are measured on this CPU on the real architecture and scaled
// (trainer/memory_plan.h says how); nothing runs on a GPU.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/manifest.h"
#include "models/registry.h"
#include "trainer/commands/commands.h"
#include "trainer/config_loader.h"
#include "trainer/memory_plan.h"

namespace wildreid::commands {
namespace {

struct PlanArgs {
  std::string config;
  std::vector<std::string> overrides;
  std::vector<std::string> archs;
  std::string gpu_memory = "80GB";
  std::string reserve = "2GB";
  double fragmentation = 0.10;
  double mfu = 0.40;
  double peak_tflops = 0;  // 0: by AMP mode
  int world_size = 1;
  int64_t num_classes = 0;
  bool no_checkpointing = false;
  std::vector<int64_t> probe_batches{2, 4};
  int64_t probe_size = 0;
  std::string precision_from;
  int64_t precision_size = 128;
};

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

const char* amp_name(trainer::AmpMode amp) {
  return amp == trainer::AmpMode::kBf16 ? "bf16" : amp == trainer::AmpMode::kFp16 ? "fp16" : "fp32";
}

// The classifier width: --num-classes, else the recipe's shard set's label count, else timm's 1000.
int64_t classes_for(const PlanArgs& args, const trainer::TrainConfig& config) {
  if (args.num_classes > 0) return args.num_classes;
  const std::filesystem::path manifest = std::filesystem::path(config.data_shards) / "manifest.json";
  if (!config.data_shards.empty() && std::filesystem::exists(manifest))
    return static_cast<int64_t>(data::read_manifest(manifest).labels.size());
  return 1000;
}

void print_cost(const trainer::ArchitectureCost& cost, const trainer::GpuBudget& budget, bool checkpointing) {
  const double p = 4.0 * static_cast<double>(cost.parameters);
  const std::string precision =
      cost.precision_arch.empty() ? std::string(amp_name(cost.amp)) : "fp32, " + std::string(amp_name(cost.amp)) +
                                                                          " effect from " + cost.precision_arch;
  std::printf("\n%s  %lld px  %s  %s params (%lld classes)  %.1f GMACs/image  [activations measured at %lld px "
              "(%s), %.0f s, %lld CPU runs]\n",
              cost.arch.c_str(), static_cast<long long>(cost.img_size), amp_name(cost.amp),
              models::format_millions(cost.parameters).c_str(), static_cast<long long>(cost.num_classes),
              cost.forward_macs / 1e9, static_cast<long long>(cost.probe_size), precision.c_str(), cost.probe_seconds,
              static_cast<long long>(cost.probe_runs));
  std::printf("  weights %.2f GiB + gradients %.2f + reducer buckets %.2f + AdamW moments %.2f = %.2f GiB\n",
              cost.weight_bytes() / kGiB, p / kGiB, p / kGiB, 2 * p / kGiB, cost.state_bytes() / kGiB);
  std::printf("  %-18s %12s %10s %12s %11s %13s %12s\n", "checkpointing", "act/image", "act fixed", "micro-batch",
              "peak", budget.effective_batch > 0 ? ("accum (" + std::to_string(budget.effective_batch) + ")").c_str()
                                                 : "accum",
              "images/s");
  for (bool ckpt : {false, true}) {
    if (ckpt && !checkpointing) continue;
    const auto& a = ckpt ? cost.checkpointed : cost.plain;
    const auto plan = trainer::plan_micro_batch(cost, budget, ckpt);
    std::printf("  %-18s %8.3f GiB %6.2f GiB %12lld %7.1f GiB %13s %12.1f\n", ckpt ? "on" : "off", a.per_image / kGiB,
                a.fixed / kGiB, static_cast<long long>(plan.max_micro_batch), plan.peak_bytes / kGiB,
                plan.accumulation > 0 ? std::to_string(plan.accumulation).c_str() : "-", plan.images_per_second);
  }
}

void run_plan(const PlanArgs& args) {
  const trainer::TrainConfig config = trainer::load_config(args.config, args.overrides);
  trainer::GpuBudget budget;
  budget.memory_bytes = trainer::parse_memory_size(args.gpu_memory);
  budget.reserve_bytes = trainer::parse_memory_size(args.reserve);
  budget.fragmentation = args.fragmentation;
  budget.mfu = args.mfu;
  // Dense peaks of an H100 SXM: bf16/fp16 tensor cores 989 TFLOP/s, fp32 without TF32 67.
  budget.peak_tflops = args.peak_tflops > 0 ? args.peak_tflops : config.amp == trainer::AmpMode::kOff ? 67.0 : 989.0;
  budget.world_size = args.world_size;
  budget.effective_batch = config.effective_batch > 0 ? config.effective_batch
                                                      : config.micro_batch * config.accumulation * args.world_size;
  const std::vector<std::string> archs = args.archs.empty() ? std::vector<std::string>{config.model_arch} : args.archs;
  // Unknown names fail here, before minutes of CPU runs (the registry's message lists the known ones).
  for (const auto& arch : archs) models::registry().at(arch);
  if (!args.precision_from.empty()) models::registry().at(args.precision_from);
  const int64_t classes = classes_for(args, config);
  std::printf("trainer plan: %.1f GiB GPU, %.1f GiB reserved (CUDA context, workspaces, NCCL), +%.0f%% allocator "
              "fragmentation; AMP %s; AdamW; world size %d; effective batch %lld; images/s per GPU at MFU %.2f of "
              "%.0f TFLOP/s\n",
              budget.memory_bytes / kGiB, budget.reserve_bytes / kGiB, 100 * budget.fragmentation, amp_name(config.amp),
              budget.world_size, static_cast<long long>(budget.effective_batch), budget.mfu, budget.peak_tflops);
  std::printf("Activations: forward+backward on this CPU at micro-batch %lld and %lld of the architecture with one "
              "block per stage and one more per stage, scaled to the full depth and image size (trainer/memory_plan.h).\n",
              static_cast<long long>(args.probe_batches.at(0)), static_cast<long long>(args.probe_batches.at(1)));
  trainer::ProbeOptions probe;
  probe.checkpointing = !args.no_checkpointing;
  probe.small_batch = args.probe_batches.at(0);
  probe.large_batch = args.probe_batches.at(1);
  probe.precision_arch = args.precision_from;
  probe.precision_size = args.precision_size;
  if (probe.large_batch <= probe.small_batch || probe.small_batch < 1)
    throw std::invalid_argument("--probe-batches: two micro-batches, the second larger, e.g. 2,4");
  std::vector<std::string> too_small;
  for (const auto& arch : archs) {
    std::fflush(stdout);
    const int64_t img = config.model_img_size > 0 ? config.model_img_size : models::registry().at(arch).spec.input_size;
    // Half the side (a quarter of the pixels) for large inputs, kept a multiple of 32.
    probe.probe_size = args.probe_size > 0 ? args.probe_size : img >= 256 ? img / 2 / 32 * 32 : img;
    const auto cost = trainer::measure_architecture(arch, img, classes, config.amp, probe);
    print_cost(cost, budget, probe.checkpointing);
    const bool ckpt_fits = probe.checkpointing && trainer::plan_micro_batch(cost, budget, true).max_micro_batch > 0;
    if (trainer::plan_micro_batch(cost, budget, false).max_micro_batch == 0 && !ckpt_fits) {
      const double one = cost.peak_bytes(1, probe.checkpointing) * (1.0 + budget.fragmentation);
      char line[256];
      std::snprintf(line, sizeof(line), "%s needs %.2f GiB at micro-batch 1%s, more than the %.2f GiB usable of %.2f GiB",
                    cost.arch.c_str(), one / kGiB, probe.checkpointing ? " with checkpointing" : "",
                    (budget.memory_bytes - budget.reserve_bytes) / kGiB, budget.memory_bytes / kGiB);
      too_small.push_back(line);
    }
  }
  if (!too_small.empty()) {
    std::string message = "plan: the GPU is too small for one image:";
    for (const auto& line : too_small) message += "\n  " + line;
    throw std::runtime_error(message);
  }
}

}  // namespace

void add_plan(CLI::App& app) {
  auto args = std::make_shared<PlanArgs>();
  CLI::App* cmd = app.add_subcommand(
      "plan", "Memory and speed plan of a recipe on a GPU: weights, gradients, optimizer state, activations per "
              "image with and without checkpointing, the largest micro-batch that fits, the accumulation for the "
              "effective batch, images/s at an MFU (activations and MACs measured on this CPU, scaled)");
  cmd->add_option("--config", args->config, "YAML recipe (model.arch, model.img_size, amp, train.* batch keys)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--set", args->overrides, "Override one config key, e.g. --set model.img_size=384 (repeatable)");
  cmd->add_option("--arch", args->archs,
                  "Plan these architectures instead of model.arch, at the recipe's image size and AMP (repeatable)");
  cmd->add_option("--gpu-memory", args->gpu_memory, "GPU memory per rank, e.g. 80GB, 141GB, 24GB (GiB)")
      ->capture_default_str();
  cmd->add_option("--reserve", args->reserve, "Memory not available to tensors: CUDA context, cuBLAS/cuDNN "
                                              "workspaces, NCCL buffers")
      ->capture_default_str();
  cmd->add_option("--fragmentation", args->fragmentation,
                  "Caching-allocator overhead as a fraction of the tensor peak")
      ->capture_default_str();
  cmd->add_option("--mfu", args->mfu, "Model FLOPs utilisation assumed for images/s")->capture_default_str();
  cmd->add_option("--peak-tflops", args->peak_tflops,
                  "Dense peak TFLOP/s of the GPU at the AMP mode (default: H100 SXM, 989 bf16/fp16, 67 fp32)");
  cmd->add_option("--world-size", args->world_size, "Ranks, for the accumulation that gives train.effective_batch")
      ->capture_default_str();
  cmd->add_option("--num-classes", args->num_classes,
                  "Classifier width (default: the labels of data.shards when it exists, else 1000)");
  cmd->add_flag("--no-checkpointing", args->no_checkpointing, "Skip the runs with activation checkpointing");
  cmd->add_option("--probe-size", args->probe_size,
                  "Image side of the activation runs (default: half the image side from 256 px up, else the image "
                  "side); per-image bytes scale with the pixels");
  cmd->add_option("--precision-from", args->precision_from,
                  "Run the probes in fp32 and take autocast's effect (per-image ratio, low-precision weight copies "
                  "per parameter) from this smaller model of the same family at --precision-size, e.g. "
                  "convnext_atto: for CPUs without bf16/fp16 units, where low-precision matmuls are ~10x slower");
  cmd->add_option("--precision-size", args->precision_size, "Image side of the --precision-from runs")
      ->capture_default_str();
  cmd->add_option("--probe-batches", args->probe_batches,
                  "The two micro-batches of the CPU runs (per-image and fixed parts come from their difference)")
      ->expected(2)
      ->delimiter(',')
      ->capture_default_str();
  cmd->footer("Figures are CPU measurements scaled by depth: CUDA autocast keeps a few more ops in fp32 and its "
              "kernels choose other workspaces, hence --reserve and --fragmentation. Training FLOPs per image = "
              "6 x forward MACs (8 x with checkpointing, which re-runs the forward).");
  cmd->callback([args] { run_plan(*args); });
}

}  // namespace wildreid::commands
