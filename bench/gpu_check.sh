#!/usr/bin/env bash
# The GPU checks, in one call on a lent GPU machine that has torch's wheel, CUDA, cmake and ninja
# only (no MPI/HDF5/OpenCV development files). Two ways to get the binaries there:
#  - the bundle (preferred: no compiling on the GPU's clock): here run scripts/build, then
#    `bench/gpu_bundle.sh --archive` and carry build-gpu-bundle.tar.zst with the checkout; the
#    bundle holds `trainer` and `bench_gpu_step` with every non-torch library they load;
#  - a LibTorch-only build there (bench_gpu_step only): here run `bench/gpu_deps.sh` and carry
#    build-gpu-deps; the script configures through bench/gpu_configure.sh and builds.
# It then runs, each line of output named by model and figure:
#  1. for convnext_xlarge, swin_large_patch4_window12_384, vit_large_patch16_384 and
#     maxvit_xlarge_tf_384 at 384 px: the largest bf16 micro-batch with and without activation
#     checkpointing, then bf16 images/s at a micro-batch of up to 32 (halved until it fits) with
#     every step's results read on the host and read once at the end, MFU (6 x timm's forward GMACs
#     per image over the dense bf16 peak, 989 TFLOP/s on H100 and H200; --peak-tflops overrides)
#     and the per-phase GPU times (CUDA events) against the wall time per step. Every step goes
#     through the bucketed reducer on a world-size-1 NCCL process group (the NCCL path of a run);
#  2. activation checkpointing + bf16 gives the losses and weights of training without it
#     (swin_large_patch4_window12_384, 3 steps at lr 1e-3; exit 1 on a mismatch);
#  3. with the bundle: `trainer synth` + `pack` + `train` (bf16, NCCL, metrics on) of a
#     photo-sized synth set on the GPU, and one scrape of its exporter during training (the GPU
#     health and step-time metrics);
#  4. batched LightGlue pairs/s at 2,048 keypoints (built from source when there is no bundle).
# Usage: bench/gpu_check.sh [--peak-tflops N]      Environment: BUILD_DIR (default build-gpu).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build-gpu}"
bundle="$root/build-gpu-bundle"
started=$(date +%s)
stamp() { echo "== [$(( $(date +%s) - started )) s] $*"; }
# One failing check (an OOM, a mismatch) is reported and the others still run; exit 1 at the end.
failed=()
check() { "$@" || { echo "FAILED (exit $?): $*"; failed+=("$*"); }; }

if [ ! -d "$bundle" ] && [ -f "$bundle.tar.zst" ]; then
  stamp "unpacking the trainer bundle"
  (cd "$root" && zstd -dc "$bundle.tar.zst" | tar -xf -)
fi
if [ -d "$bundle" ]; then
  gpu_step=("$bundle/run" bench_gpu_step)
  trainer=("$bundle/run" trainer)
else
  stamp "no bundle: building bench_gpu_step with LibTorch only"
  source "$root/bench/gpu_configure.sh"
  gpu_configure "$build" >/dev/null
  cmake --build "$build" -j"$(nproc)" --target bench_gpu_step
  gpu_step=("$build/bin/bench_gpu_step")
  trainer=()
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

# timm's forward GMACs per image at 384 px (its model cards), for MFU.
declare -A gmacs=(
  [convnext_xlarge]=179.2
  [swin_large_patch4_window12_384]=104.1
  [vit_large_patch16_384]=191.2
  [maxvit_xlarge_tf_384]=292.8
)
for arch in convnext_xlarge swin_large_patch4_window12_384 vit_large_patch16_384 maxvit_xlarge_tf_384; do
  stamp "$arch: largest micro-batch, then images/s"
  check "${gpu_step[@]}" --arch "$arch" --img 384 --max-batch
  check "${gpu_step[@]}" --arch "$arch" --img 384 --batch 32 --steps 8 --warmup 2 --gmacs "${gmacs[$arch]}" "$@"
done

stamp "activation checkpointing equivalence (swin_large, bf16)"
check "${gpu_step[@]}" --arch swin_large_patch4_window12_384 --img 384 --batch 4 --ckpt-equivalence

if [ ${#trainer[@]} -gt 0 ]; then
  stamp "trainer end to end on the GPU: synth (1,024 px originals) -> pack -> train bf16 with metrics"
  work="$(mktemp -d)"
  check "${trainer[@]}" synth --out "$work/synth" --seed 3 --identities 12 --unknowns 0 --images 16 --size 1024 --quiet
  check "${trainer[@]}" pack --metadata "$work/synth/metadata.csv" --out "$work/shards" --quiet
  port=9464
  "${trainer[@]}" train --config "$root/configs/tiny_cpu.yaml" --set data.shards="$work/shards" \
    --set run.dir="$work/run" --set model.arch=convnext_tiny --set model.img_size=224 --set amp=bf16 \
    --set train.micro_batch=64 --set train.epochs=10 --set train.log_every=5 --set data.workers=8 \
    --set data.augment=true --set run.threads=4 --set metrics.port=$port --set metrics.bind=127.0.0.1 \
    --set metrics.linger_s=10 &
  train_pid=$!
  # Scrape once the exporter answers and a few seconds of training have passed (curl or Python).
  scrape() {
    curl -sf "http://127.0.0.1:$port/metrics" 2>/dev/null ||
      python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$port/metrics', timeout=2).read().decode())" 2>/dev/null
  }
  scraped=0
  for _ in $(seq 1 180); do
    if scrape >"$work/scrape.txt" && grep -q '^wildreid_' "$work/scrape.txt"; then
      sleep 5
      scrape >"$work/scrape.txt" || true
      scraped=1
      break
    fi
    sleep 1
  done
  check wait "$train_pid"
  if [ "$scraped" = 1 ]; then
    stamp "one scrape of rank 0's exporter during training (GPU health and step metrics)"
    grep -E '^wildreid_(gpu_|train_(loss|images_total|steps_total|phase_seconds_total))' "$work/scrape.txt" || true
    grep -q '^wildreid_gpu_utilization_ratio' "$work/scrape.txt" || { echo "FAILED: no GPU health (NVML) series in the scrape"; failed+=("NVML series in the scrape"); }
  else
    echo "no scrape: the exporter on port $port did not answer"
  fi
  rm -rf "$work"
fi

stamp "batched LightGlue, 2,048 keypoints, 16 pairs per padded batch, fixed depth and adaptive"
if [ -d "$bundle" ]; then
  echo "matching_networks is not in the bundle; building it with LibTorch only"
  source "$root/bench/gpu_configure.sh"
  gpu_configure "$build" >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target matching_networks
for adaptive in "" --adaptive; do
  check "$build/bin/matching_networks" --what lightglue --device cuda --keypoints 2048 --pairs 64 --batch 16 \
    --iters 3 --no-python $adaptive
done
stamp "done"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'gpu_check: %d check(s) failed:\n' "${#failed[@]}"
  printf '  %s\n' "${failed[@]}"
  exit 1
fi
