#!/usr/bin/env bash
# GPU checks of issue 4 §6 in one call on the lent machine (LibTorch + CUDA + nvcc + cmake +
# ninja only): configure a LibTorch-only build, build bench_gpu_step, then
#  1. bf16 images/s and MFU of convnext_xlarge at 384 (6 x 179.2 GMACs per image, H100 peak 989);
#  2. the largest maxvit_xlarge_tf_384 micro-batch with and without activation checkpointing.
# Usage: bench/gpu_check.sh [BUILD_DIR] [--peak-tflops N]   (H200: same 989 dense bf16 peak)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build-gpu}"; shift || true
python="${WILDREID_PYTHON:-python3}"
cmake -G Ninja -S "$root" -B "$build" -DWILDREID_LIBTORCH_ONLY=ON -DWILDREID_BUILD_TESTS=OFF \
  -DWILDREID_PYTHON="$python" >/dev/null
cmake --build "$build" -j"$(nproc)" --target bench_gpu_step
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
"$build/bin/bench_gpu_step" --arch convnext_xlarge --img 384 --batch 32 --steps 10 --gmacs 179.2 "$@"
"$build/bin/bench_gpu_step" --arch maxvit_xlarge_tf_384 --img 384 --max-batch "$@"

# --- Local matching (issue 10): batched LightGlue pairs/s at 2,048 keypoints per image, 16 pairs per
# padded batch, fixed depth/width (wildlife-tools' setting) and adaptive; random weights, fp32.
cmake --build "$build" -j"$(nproc)" --target matching_networks
for adaptive in "" --adaptive; do
  "$build/bin/matching_networks" --what lightglue --device cuda --keypoints 2048 --pairs 64 --batch 16 \
    --iters 3 --no-python $adaptive
done
