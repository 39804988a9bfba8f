// What one training step of an architecture holds in memory and costs in compute, measured on
// this CPU and scaled, and the GPU plan `trainer plan` derives from it: the largest micro-batch
// that fits a GPU's memory with and without activation checkpointing, the accumulation that
// reaches the effective batch, and images/s at a stated MFU.
//
// Measured, not guessed: forward + backward runs of the real architecture on this CPU, counting
// every CPU tensor byte (models/cpu_memory_counter.h) and every multiply-accumulate
// (models/forward_macs.h). To keep an XL model cheap to measure:
//  - depth: the runs use the architecture with one block per stage ("base") and with one more
//    block in one stage at a time; blocks of a stage after its first are alike;
//  - two moments of each run are read: the end of the forward, still inside autocast (what the
//    graph saved plus autocast's cast cache, which with checkpointing holds every weight's
//    low-precision copy until the scope ends), and the start of backward (what the graph saved).
//    These grow with depth and are scaled: base + (depth - 1) x (one more block - base) per
//    stage. What the forward and the backward add on top of them (one layer's activation
//    gradients, one weight gradient, with checkpointing the re-run of one block) is a transient
//    of the largest layer: the largest over the variants, not scaled. The peak is the larger of
//    the two moments. (The first version fitted the peaks themselves, which are a max, not a sum:
//    at small probes a fixed CPU workspace hid the per-image part, and the cast cache of a
//    checkpointed forward was not scaled by depth; its ViT bf16 prediction was 37% low.)
//  - batch: two micro-batches separate what grows with each image from what does not; they must
//    be large enough that activations outweigh the CPU kernels' fixed workspaces (a few MB), as
//    they do for XL models;
//  - size: activations are measured at ProbeOptions::probe_size and scale with the pixels
//    (every stored tensor is per position; MACs are counted at the real size, where attention's
//    cost is not linear in pixels);
//  - precision: at the AMP mode, or, where low-precision matmuls are too slow on this CPU, in
//    fp32 with autocast's effect taken from a smaller model of the family
//    (ProbeOptions::precision_arch).
// tests/trainer/test_memory_plan.cpp checks the scaled prediction against the measured peak of
// real training steps of whole models at the real size and precision.
//
// The prediction is the peak with gradients already allocated (every accumulation micro-step
// after the first): fp32 weights and buffers, fp32 gradients, the gradient reducer's fp32
// buckets, AdamW's two fp32 moments, then activations. Figures are CPU figures: CUDA autocast
// keeps a few more ops in fp32 (layer norms, softmax), and the CUDA context, cuDNN/cuBLAS
// workspaces and NCCL buffers are outside the tensor peak (GpuBudget::reserve_bytes), as is the
// caching allocator's fragmentation (GpuBudget::fragmentation).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "trainer/train_config.h"

namespace wildreid::trainer {

struct ActivationCost {
  double per_image = 0;  // bytes per image at the step's peak (activations and backward transients)
  double fixed = 0;      // bytes that do not grow with the batch (low-precision weight copies, workspaces)
  double at(int64_t micro_batch) const { return fixed + per_image * static_cast<double>(micro_batch); }
};

struct ArchitectureCost {
  std::string arch;
  int64_t img_size = 0;
  int64_t probe_size = 0;    // image side the activations were measured at
  int64_t num_classes = 0;
  AmpMode amp = AmpMode::kOff;
  std::string precision_arch;  // where autocast's effect was measured (empty: the runs themselves)
  int64_t parameters = 0;    // elements
  int64_t buffer_bytes = 0;  // BatchNorm statistics and other persistent buffers
  double forward_macs = 0;   // per image
  ActivationCost plain, checkpointed;
  std::vector<int64_t> depths;  // blocks per stage of the full architecture
  int64_t probe_runs = 0;
  double probe_seconds = 0;

  // Bytes of weights + gradients + reducer buckets + AdamW state (all fp32).
  double weight_bytes() const;
  double state_bytes() const;  // weights, gradients, buckets, optimizer together
  // The step's predicted peak bytes at `micro_batch`.
  double peak_bytes(int64_t micro_batch, bool checkpointing) const;
};

struct ProbeOptions {
  bool checkpointing = true;  // also measure with activation checkpointing
  // Micro-batches of the CPU runs; per-image and fixed bytes come from their difference (batch 1
  // takes other kernel paths on some ops, so 2 and 4). Large enough that activations outweigh
  // the CPU kernels' fixed workspaces.
  int64_t small_batch = 2, large_batch = 4;
  // Image side of the activation runs (0: the real size); per-image bytes scale by the pixel ratio.
  int64_t probe_size = 0;
  // Empty: the runs are at the AMP mode. Otherwise a smaller model of the same family (e.g.
  // convnext_atto for convnext_xlarge): the runs of the architecture are fp32 and autocast's
  // effect is this model's low-precision / fp32 ratio of per-image bytes plus its low-precision
  // weight copies per parameter, measured at precision_size. For CPUs without bf16/fp16 units,
  // where low-precision matmuls are ~10x slower than fp32.
  std::string precision_arch;
  int64_t precision_size = 128;
};

// Throws std::runtime_error naming the architecture when it is unknown or cannot run at img_size.
ArchitectureCost measure_architecture(const std::string& arch, int64_t img_size, int64_t num_classes, AmpMode amp,
                                      const ProbeOptions& options = {});

struct GpuBudget {
  double memory_bytes = 80.0 * (1LL << 30);  // the card's memory
  double reserve_bytes = 2.0 * (1LL << 30);  // CUDA context, cuBLAS/cuDNN workspaces, NCCL buffers
  double fragmentation = 0.10;               // the caching allocator's overhead over the tensor peak
  double peak_tflops = 989.0;                // dense peak at the AMP mode (H100 SXM bf16: 989)
  double mfu = 0.40;                         // model FLOPs utilisation assumed for images/s
  int world_size = 1;                        // ranks, for the accumulation that gives the effective batch
  int64_t effective_batch = 0;               // 0: none asked
};

struct MicroBatchPlan {
  bool checkpointing = false;
  int64_t max_micro_batch = 0;     // 0: not even one image fits
  double peak_bytes = 0;           // predicted at max_micro_batch (incl. fragmentation)
  int64_t accumulation = 0;        // for budget.effective_batch at max_micro_batch (0 when not asked)
  double images_per_second = 0;    // per GPU at budget.mfu (checkpointing re-runs the forward)
};

// The largest micro-batch whose predicted peak x (1 + fragmentation) fits memory - reserve.
MicroBatchPlan plan_micro_batch(const ArchitectureCost& cost, const GpuBudget& budget, bool checkpointing);

// "80GB", "80G", "80GiB", "141 GB" (GiB: 2^30 bytes, as GPU memory sizes are quoted), "81920MB".
double parse_memory_size(const std::string& text);

}  // namespace wildreid::trainer
