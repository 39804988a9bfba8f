#!/usr/bin/env bash
# launch/slurm/chain.sh: submits the reference workflow as Slurm jobs joined by dependencies
#   pack WildlifeReID-10k ─┐
#                          └► pretrain (WildlifeReID-10k) ─┐
#   pack AnimalCLEF2025 ───────────────────────────────────┴► fine-tune (AnimalCLEF, from the
#                                                             pretrain's best.safetensors)
#                                                             └► embed / identify / submission
# Each stage is one of the batch scripts next to this file, so a stage can also be run (or
# rerun) alone. A training stage that is requeued after a time-limit checkpoint stays pending
# and its dependants keep waiting (afterok), so the chain survives time limits. Every run
# directory is fixed in advance under --out, so each stage knows where the previous one wrote.
set -uo pipefail
WR_PROG=chain
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

usage() {
  cat <<'USAGE'
Usage: launch/slurm/chain.sh --out DIR (--wr10k-metadata CSV | --wr10k-shards DIR)
                             (--animalclef-metadata CSV | --animalclef-shards DIR) [options]
  --out DIR                   chain folder: shards/, pretrain/, finetune/, jobs.txt
  --wr10k-metadata CSV        WildlifeReID-10k metadata.csv to pack (images relative to its folder)
  --wr10k-shards DIR          an existing WildlifeReID-10k shard set (no pack job)
  --animalclef-metadata CSV   AnimalCLEF2025 metadata.csv to pack
  --animalclef-shards DIR     an existing AnimalCLEF2025 shard set (no pack job)
  --pretrain-config FILE      default configs/convnext_xlarge_wildlifereid10k.yaml
  --finetune-config FILE      default configs/convnext_xlarge_animalclef.yaml
  --identify-config FILE      identification recipe, default configs/identify_global.yaml
  --identify-set K=V          trainer identify override (repeatable)
  --train-script FILE         batch script of the training stages (default
                              launch/slurm/train_1node.sbatch; e.g. train_nodes.sbatch)
  --pretrain-set K=V          trainer override for the pretrain stage (repeatable)
  --finetune-set K=V          trainer override for the fine-tune stage (repeatable)
  --job-arg ARG               train_job.sh option for both training stages (repeatable),
                              e.g. --job-arg=--stage --job-arg=/local/scratch
  --sbatch-arg ARG            sbatch option for every job (repeatable), e.g. --sbatch-arg=--account=X
  --train-sbatch-arg ARG      sbatch option for the training jobs only (repeatable)
  --dry-run                   print the sbatch commands instead of submitting
  -h, --help                  this help
Prints one line per job (stage, job id, dependency) and writes them to DIR/jobs.txt; the
submission lands in DIR/identify/submission.csv.
USAGE
}

out="" w_csv="" w_shards="" c_csv="" c_shards="" dry=0
pre_cfg="$WR_ROOT/configs/convnext_xlarge_wildlifereid10k.yaml"
fin_cfg="$WR_ROOT/configs/convnext_xlarge_animalclef.yaml"
id_cfg="$WR_ROOT/configs/identify_global.yaml"
id_sets=()
train_script="$WR_LAUNCH_DIR/slurm/train_1node.sbatch"
pre_sets=() fin_sets=() job_args=() sb_all=() sb_train=()
need() { [ $# -ge 2 ] && [ -n "$2" ] || wr_die "$1 needs a value (see --help)"; }
while [ $# -gt 0 ]; do
  case "$1" in --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}" ;; esac   # --option=value
  case "$1" in
    --out) need "$@"; out="$2"; shift 2 ;;
    --wr10k-metadata) need "$@"; w_csv="$2"; shift 2 ;;
    --wr10k-shards) need "$@"; w_shards="$2"; shift 2 ;;
    --animalclef-metadata) need "$@"; c_csv="$2"; shift 2 ;;
    --animalclef-shards) need "$@"; c_shards="$2"; shift 2 ;;
    --pretrain-config) need "$@"; pre_cfg="$2"; shift 2 ;;
    --finetune-config) need "$@"; fin_cfg="$2"; shift 2 ;;
    --identify-config) need "$@"; id_cfg="$2"; shift 2 ;;
    --identify-set) need "$@"; id_sets+=(--set "$2"); shift 2 ;;
    --train-script) need "$@"; train_script="$2"; shift 2 ;;
    --pretrain-set) need "$@"; pre_sets+=(--set "$2"); shift 2 ;;
    --finetune-set) need "$@"; fin_sets+=(--set "$2"); shift 2 ;;
    --job-arg) need "$@"; job_args+=("$2"); shift 2 ;;
    --sbatch-arg) need "$@"; sb_all+=("$2"); shift 2 ;;
    --train-sbatch-arg) need "$@"; sb_train+=("$2"); shift 2 ;;
    --dry-run) dry=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) wr_die "unknown option '$1' (see --help)" ;;
  esac
done
[ -n "$out" ] || wr_die "--out DIR is required"
[ -n "$w_csv$w_shards" ] && [ -z "$w_csv" -o -z "$w_shards" ] || wr_die "give one of --wr10k-metadata or --wr10k-shards"
[ -n "$c_csv$c_shards" ] && [ -z "$c_csv" -o -z "$c_shards" ] || wr_die "give one of --animalclef-metadata or --animalclef-shards"
for f in "$pre_cfg" "$fin_cfg" "$id_cfg" "$train_script" ${w_csv:+"$w_csv"} ${c_csv:+"$c_csv"}; do
  [ -f "$f" ] || wr_die "$f: no such file"
done
for d in ${w_shards:+"$w_shards"} ${c_shards:+"$c_shards"}; do
  [ -f "$d/manifest.json" ] || wr_die "$d: not a shard set (no manifest.json)"
done
command -v sbatch >/dev/null || [ "$dry" = 1 ] || wr_die "sbatch not found: run this on a Slurm login node"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
jobs_file="$out/jobs.txt"
[ "$dry" = 1 ] || : > "$jobs_file"

# submit STAGE DEPENDENCY sbatch-arguments... ; prints the job id (or a placeholder with --dry-run)
submit() {
  local stage="$1" dep="$2"; shift 2
  local cmd=(sbatch --parsable --job-name="wildreid-$stage" "${sb_all[@]}")
  [ -n "$dep" ] && cmd+=(--dependency="afterok:$dep" --kill-on-invalid-dep=yes)
  cmd+=("$@")
  if [ "$dry" = 1 ]; then
    printf '%q ' "${cmd[@]}" >&2; echo >&2
    echo "<$stage>"
    return
  fi
  local id
  id="$("${cmd[@]}")" || wr_die "sbatch failed for stage $stage"
  id="${id%%;*}"
  printf '%-10s job %-8s after %s\n' "$stage" "$id" "${dep:-(none)}" | tee -a "$jobs_file" >&2
  echo "$id"
}

w_dep="" c_dep=""
if [ -n "$w_csv" ]; then
  w_shards="$out/shards/wildlifereid10k"
  w_dep="$(submit pack-wr10k "" "$WR_LAUNCH_DIR/slurm/pack.sbatch" --metadata "$w_csv" --out "$w_shards")"
fi
if [ -n "$c_csv" ]; then
  c_shards="$out/shards/animalclef2025"
  c_dep="$(submit pack-clef "" "$WR_LAUNCH_DIR/slurm/pack.sbatch" --metadata "$c_csv" --out "$c_shards")"
fi
pre_id="$(submit pretrain "$w_dep" "${sb_train[@]}" "$train_script" --run-dir "$out/pretrain" "${job_args[@]}" \
          "$pre_cfg" --set "data.shards=$w_shards" "${pre_sets[@]}")"
fin_dep="$pre_id${c_dep:+:$c_dep}"
fin_id="$(submit finetune "$fin_dep" "${sb_train[@]}" "$train_script" --run-dir "$out/finetune" "${job_args[@]}" \
          "$fin_cfg" --set "data.shards=$c_shards" --set "init.from=$out/pretrain/best.safetensors" \
          --set init.new_head=true "${fin_sets[@]}")"

id_id="$(submit identify "$fin_id" "$WR_LAUNCH_DIR/slurm/identify.sbatch" "$out/finetune" "$c_shards" \
         "$out/identify" "$id_cfg" "${id_sets[@]}")"
[ "$dry" = 1 ] || wr_log "jobs: $jobs_file; run dirs: $out/pretrain, $out/finetune; submission: $out/identify/submission.csv (job $id_id)"
