#!/usr/bin/env bash
# CPU training-step benchmarks (docs/benchmarks.md), side by side in one run:
#  1. ours (mpirun -np 2, MPI collectives) vs Python timm + torch DDP (torchrun, gloo), same tiny
#     model, batch, world size 2 and 1 thread per rank: ratio ours / python (target >= 1.0);
#  2. scaling: ours with 1 rank vs 2 ranks, one thread each: ratio 2-rank / 1-rank (target >= 1.8).
# Usage: bench/train_step/run.sh [BUILD_DIR] [extra args for both programs, e.g. --steps 30]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
source "$root/scripts/env.sh"
build="${1:-$root/build}"; shift || true
bench="$build/bin/bench_train_step"
torchrun="$(dirname "$WILDREID_PYTHON")/torchrun"
common=(--arch convnext_atto --img 64 --batch 16 --steps 20 --warmup 3 --threads 1 "$@")
export OMP_NUM_THREADS=1
ours2=$(mpirun -np 2 --oversubscribe "$bench" "${common[@]}" --label ours_world2 | grep images_per_s)
py2=$("$torchrun" --standalone --nproc_per_node 2 "$root/tools/ddp_train_step_baseline.py" "${common[@]}" \
      --label python_timm_ddp_world2 2>/dev/null | grep images_per_s)
ours1=$(mpirun -np 1 --oversubscribe "$bench" "${common[@]}" --label ours_world1 | grep images_per_s)
echo "$ours2"; echo "$py2"; echo "$ours1"
value() { awk '{print $3}' <<<"$1"; }
awk -v a="$(value "$ours2")" -v b="$(value "$py2")" 'BEGIN{printf "ratio_ours_vs_python_world2 %.3f (target >= 1.0)\n", a/b}'
awk -v a="$(value "$ours2")" -v b="$(value "$ours1")" 'BEGIN{printf "scaling_world2_vs_world1 %.3f (target >= 1.8)\n", a/b}'
