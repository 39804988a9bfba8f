#!/usr/bin/env bash
# `trainer embed` images/s against Python timm doing the same job (tools/timm_embed_baseline.py:
# h5py + PIL + timm eval transform in a DataLoader, timm forward_features + forward_head
# pre_logits), side by side in one run: same shards, model, image size, batch, torch threads and
# decode workers; ratio ours / timm (target >= 1.0). The baseline's forward-only figure (batches
# already decoded) is printed too. Each side runs --repeats times, alternating; best of each.
# Usage: bench/embed/run.sh [BUILD_DIR] [--arch A] [--img-size N] [--threads T] [--workers W]
#                           [--batch-size B] [--images N] [--repeats R]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
source "$root/scripts/env.sh"
build="$root/build"
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then build="$1"; shift; fi
arch=convnext_tiny img=224 threads=1 workers=1 batch=32 images=240 repeats=2
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch="$2";; --img-size) img="$2";; --threads) threads="$2";; --workers) workers="$2";;
    --batch-size) batch="$2";; --images) images="$2";; --repeats) repeats="$2";;
    *) echo "bench/embed/run.sh: unknown option $1" >&2; exit 2;;
  esac
  shift 2
done
trainer="$build/bin/trainer"
work="${BENCH_EMBED_DIR:-/tmp/wildreid_bench_embed}"
# A synth set of about `images` records at 320 px (3 datasets x (identities x 8 + unknowns x 4)).
ids=$(( (images / 3 - 8) / 8 )); [ "$ids" -lt 1 ] && ids=1
if [ ! -f "$work/shards-$images/manifest.json" ]; then
  rm -rf "$work/synth-$images" "$work/shards-$images"
  "$trainer" synth --quiet --out "$work/synth-$images" --identities "$ids" --unknowns 2 --images 8 --size 320 --threads 2
  "$trainer" pack --quiet --metadata "$work/synth-$images/metadata.csv" --out "$work/shards-$images" --threads 2
fi
shards="$work/shards-$images"
weights="$work/$arch.safetensors"
if [ ! -f "$weights" ]; then
  "$WILDREID_PYTHON" -c "import timm, sys; from safetensors.torch import save_file
m = timm.create_model('$arch', pretrained=False, num_classes=0)
save_file({k: v.contiguous() for k, v in m.state_dict().items()}, sys.argv[1])" "$weights"
fi
echo "embed benchmark: $arch @ $img px, batch $batch, torch threads $threads, decode workers $workers, shards $shards"
best_ours=0 best_py=0 best_fwd=0
for r in $(seq "$repeats"); do
  rm -f "$work/bench.h5"
  line=$(OMP_NUM_THREADS=$threads "$trainer" embed --quiet --shards "$shards" --out "$work/bench.h5" \
           --arch "$arch" --weights "$weights" --img-size "$img" --batch-size "$batch" --threads "$threads" \
           --workers "$workers" --amp off | grep 'images/s')
  ours=$(sed -E 's/.* ([0-9.]+) images\/s.*/\1/' <<<"$line")
  rows=$(sed -E 's/.*: ([0-9]+) rows.*/\1/' <<<"$line")
  out=$(OMP_NUM_THREADS=$threads "$WILDREID_PYTHON" "$root/tools/timm_embed_baseline.py" --shards "$shards" \
          --arch "$arch" --img-size "$img" --batch-size "$batch" --threads "$threads" --workers "$workers")
  py=$(awk '/^RESULT /{split($2,a,"=");split($3,b,"="); printf "%.2f", a[2]/b[2]}' <<<"$out")
  fwd=$(awk '/^RESULT_FORWARD /{split($2,a,"=");split($3,b,"="); printf "%.2f", a[2]/b[2]}' <<<"$out")
  printf 'run %d: wildreid embed %7.2f images/s (%s rows)   timm end to end %7.2f images/s   timm forward only %7.2f images/s\n' \
    "$r" "$ours" "$rows" "$py" "$fwd"
  best_ours=$(awk -v a="$best_ours" -v b="$ours" 'BEGIN{print (b>a)?b:a}')
  best_py=$(awk -v a="$best_py" -v b="$py" 'BEGIN{print (b>a)?b:a}')
  best_fwd=$(awk -v a="$best_fwd" -v b="$fwd" 'BEGIN{print (b>a)?b:a}')
done
awk -v a="$best_ours" -v b="$best_py" -v c="$best_fwd" 'BEGIN{
  printf "best: wildreid %.2f, timm end to end %.2f, timm forward only %.2f images/s\n", a, b, c
  printf "ratio wildreid / timm end to end %.2fx (target >= 1.0)   wildreid / timm forward only %.2fx\n", a/b, a/c}'
rm -f "$work/bench.h5"
