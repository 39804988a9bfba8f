#!/usr/bin/env bash
# The GPU checks, in one call on a lent GPU machine that has LibTorch + CUDA + nvcc + cmake + ninja
# only. Prepare here first: `bench/gpu_deps.sh` (the JSON library's files, into build-gpu-deps/),
# then carry build-gpu-deps with the checkout. The script configures a LibTorch-only build
# (bench/gpu_configure.sh), builds bench_gpu_step and runs:
#  1. bf16 convnext_xlarge@384: images/s with every step's results read on the host (the old
#     per-step synchronisation) and read once at the end, their ratio, MFU (6 x 179.2 GMACs per
#     image over the dense bf16 peak, 989 TFLOP/s on H100 and H200), and the per-phase GPU times
#     (CUDA events) against the wall time per step, which should add up;
#  2. activation checkpointing + bf16 gives the losses and weights of training without it
#     (swin_large_patch4_window12_384, 3 steps at lr 1e-3; exit 1 on a mismatch);
#  3. the largest maxvit_xlarge_tf_384 micro-batch with and without activation checkpointing.
# The world-size-1 NCCL group they train through picks its GPU by local rank % visible GPUs.
# Usage: bench/gpu_check.sh [BUILD_DIR] [--peak-tflops N]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build-gpu}"
shift || true
source "$root/bench/gpu_configure.sh"
gpu_configure "$build" >/dev/null
cmake --build "$build" -j"$(nproc)" --target bench_gpu_step
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
bin="$build/bin/bench_gpu_step"
"$bin" --arch convnext_xlarge --img 384 --batch 32 --steps 10 --gmacs 179.2 "$@"
"$bin" --arch swin_large_patch4_window12_384 --img 384 --batch 4 --ckpt-equivalence
"$bin" --arch maxvit_xlarge_tf_384 --img 384 --max-batch "$@"

# --- Local matching (issue 10): batched LightGlue pairs/s at 2,048 keypoints per image, 16 pairs per
# padded batch, fixed depth/width (wildlife-tools' setting) and adaptive; random weights, fp32.
cmake --build "$build" -j"$(nproc)" --target matching_networks
for adaptive in "" --adaptive; do
  "$build/bin/matching_networks" --what lightglue --device cuda --keypoints 2048 --pairs 64 --batch 16 \
    --iters 3 --no-python $adaptive
done
