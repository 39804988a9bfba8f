#!/usr/bin/env bash
# End-to-end training throughput (docs/benchmarks.md, "train_e2e"): `trainer train` against the
# Python stack a user would write (tools/train_baseline.py: h5py Dataset + PIL + torchvision
# recipe + DataLoader workers + timm + AdamW + DDP over gloo under torchrun), side by side in one
# run, on a synth shard set with photo-sized originals (1,024 px JPEGs), the same recipe
# (bench/train_e2e/recipe.yaml, read by both), model, image size, micro-batch, 2 ranks, and per
# rank 1 torch thread + 1 data worker (the trainer's decode thread; the baseline's DataLoader
# worker process). Each side trains 2 epochs; the second is timed. Cases:
#   1. convnext_atto 128 px, micro-batch 32: input-bound; target trainer / python >= 1.5
#   2. convnext_tiny 224 px, micro-batch 8: compute-bound; target >= 1.0
# Prints both epoch images/s, the ratio, the trainer's phase breakdown (rank 0, timed epoch) and
# the baseline's (data wait / forward / backward incl. DDP's allreduce / optimizer).
# Usage: bench/train_e2e/run.sh [BUILD_DIR] [CASE...]   (CASE: atto, tiny; default both)
# The shard sets are made once under $WILDREID_BENCH_CACHE (default ~/.cache/wildreid/train_e2e).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
source "$root/scripts/env.sh"
build="$(cd "${1:-$root/build}" && pwd)"
trainer="$build/bin/trainer"
torchrun="$(dirname "$WILDREID_PYTHON")/torchrun"
cache="${WILDREID_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wildreid/train_e2e}"
recipe="$root/bench/train_e2e/recipe.yaml"
export OMP_NUM_THREADS=1
mkdir -p "$cache"

# shard_set NAME IDENTITIES: 3 datasets x IDENTITIES individuals x 12 photos of 1,024 px; the pack
# split leaves 8 per individual in train (2 query, 2 val).
shard_set() {
  local dir="$cache/$1"
  if [ ! -f "$dir/shards/manifest.json" ]; then
    rm -rf "$dir" && mkdir -p "$dir"
    "$trainer" synth --out "$dir/synth" --identities "$2" --unknowns 0 --images 12 --size 1024 --seed 7 --quiet
    "$trainer" pack --metadata "$dir/synth/metadata.csv" --out "$dir/shards" --quiet
    rm -rf "$dir/synth"
  fi
  echo "$dir/shards"
}

run_case() {  # NAME SHARDS ARCH IMG MICRO TARGET
  local name=$1 shards=$2 arch=$3 img=$4 micro=$5 target=$6
  local run="$cache/runs/$name"
  rm -rf "$run"
  local sets=(--set "data.shards=$shards" --set "model.arch=$arch" --set "model.img_size=$img"
              --set "train.micro_batch=$micro" --set "run.dir=$run")
  echo "== $name: $arch ${img}px, micro-batch $micro/rank, 2 ranks, 1 torch thread + 1 data worker per rank"
  echo "load before: $(uptime | sed 's/.*load average/load average/')"
  # CPU seconds of each side's whole process tree (both epochs and start-up), a figure that other
  # users of the machine move less than wall-clock time.
  local TIMEFORMAT=%U+%S cpu_ours cpu_py
  cpu_ours=$( { time mpirun -np 2 --oversubscribe "$trainer" train --config "$recipe" "${sets[@]}" \
                  >"$cache/runs/$name.trainer.log" 2>&1; } 2>&1 ) \
    || { tail -20 "$cache/runs/$name.trainer.log"; exit 1; }
  local ours py
  ours=$("$WILDREID_PYTHON" "$root/bench/train_e2e/epoch_readout.py" "$run" trainer)
  cpu_py=$( { time "$torchrun" --standalone --nproc_per_node 2 "$root/tools/train_baseline.py" --config "$recipe" \
                "${sets[@]}" --label python_timm_ddp >"$cache/runs/$name.python.out" 2>"$cache/runs/$name.python.log"; } 2>&1 ) \
    || { tail -20 "$cache/runs/$name.python.log"; exit 1; }
  py=$(grep epoch_images_per_s "$cache/runs/$name.python.out")
  echo "load after:  $(uptime | sed 's/.*load average/load average/')"
  echo "$ours"; echo "$py"
  local a b
  a=$(awk '/epoch_images_per_s/{print $3; exit}' <<<"$ours")
  b=$(awk '{print $3}' <<<"$py")
  awk -v a="$a" -v b="$b" -v n="$name" -v t="$target" \
    'BEGIN{printf "ratio_trainer_vs_python_%s %.3f (target >= %s)\n", n, a/b, t}'
  # Both sides train the same images (2 epochs) in the whole run.
  local images=$(( 2 * $(awk '{print $5}' <<<"$py") ))
  awk -v co="$cpu_ours" -v cp="$cpu_py" -v n="$name" -v i="$images" 'BEGIN{
    split(co, x, "+"); split(cp, y, "+"); o = x[1] + x[2]; p = y[1] + y[2];
    printf "cpu_s_whole_run_%s trainer %.1f python %.1f (%d images each, start-up included): images per CPU-second %.2f vs %.2f, ratio %.3f\n",
           n, o, p, i, i / o, i / p, p / o}'
}

mkdir -p "$cache/runs"
cases=("${@:2}"); [ ${#cases[@]} -gt 0 ] || cases=(atto tiny)
for c in "${cases[@]}"; do
  case "$c" in
    atto) run_case convnext_atto_128 "$(shard_set atto 40)" convnext_atto 128 32 1.5 ;;  # 960 train images: 15 steps of 2 x 32
    tiny) run_case convnext_tiny_224 "$(shard_set tiny 4)" convnext_tiny 224 8 1.0 ;;    # 96 train images: 6 steps of 2 x 8
    *) echo "run.sh: unknown case $c (atto, tiny)" >&2; exit 2 ;;
  esac
done
