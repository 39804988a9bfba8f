#!/usr/bin/env bash
# launch/slurm/train_job.sh: the body of the training batch scripts (train_1node.sbatch,
# train_nodes.sbatch exec it, so it is the batch shell Slurm signals). One job = one run
# directory, named by the job id unless given, so a requeued job finds its own checkpoints:
#   1. optionally copies the shard set to node-local disk on every node (--stage);
#   2. starts the ranks with `srun --mpi=pmix` (the trainer takes rank, world size and local
#      rank from PMIx) or with launch/mpirun-train inside the allocation;
#   3. forwards the batch shell's USR1/TERM (from `--signal=B:USR1@...` before the time limit,
#      from preemption or `scancel --signal=USR1 --batch`) to the ranks, which checkpoint and
#      exit 75;
#   4. on 75 requeues the job (`scontrol requeue`); the requeued job resumes (resume: auto);
#   5. returns when the ranks have stopped even if the launcher waits for a lost node.
# Options: run it with --help (or read usage below).
set -uo pipefail
WR_PROG="wildreid job ${SLURM_JOB_ID:-(no job)}"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

usage() {
  cat <<'USAGE'
Usage: sbatch [sbatch options] launch/slurm/train_1node.sbatch [job options] CONFIG [trainer options]
       sbatch --nodes=N [sbatch options] launch/slurm/train_nodes.sbatch [job options] CONFIG [...]

Job options (before CONFIG):
  --launcher srun|mpirun  start the ranks with srun --mpi=pmix (default) or mpirun inside the
                          allocation (WILDREID_LAUNCHER)
  --run-dir DIR           run directory (default: $WILDREID_RUNS/<job name>-<job id>, with
                          WILDREID_RUNS=runs in the submit directory); a requeued job keeps it
  --stage DIR             copy the shard set (data.shards) to DIR/wildreid-<job id>-shards on
                          every node first (node-local disk) and train from there
  --max-requeues N        requeue after a signal-triggered checkpoint at most N times (10)
  --grace S               seconds to wait for the launcher after a rank announced its stop (45)
  -h, --help              this help
Trainer options (after CONFIG) go to `trainer train`, e.g. --set train.epochs=5.

Exit codes: 0 done, 75 checkpointed after a signal (the job is requeued unless the limit is
reached), 76 a peer rank failed, 1 trainer error, 2 bad job options. Environment: WILDREID_HOME
(checkout), WILDREID_TRAINER (binary), WILDREID_SRUN_MPI (srun --mpi=, default pmix).
USAGE
}

launcher="${WILDREID_LAUNCHER:-srun}" run_dir="" stage="" max_requeues=10 grace=45
need() { [ $# -ge 2 ] && [ -n "$2" ] || wr_die "$1 needs a value (see --help)"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --launcher) need "$@"; launcher="$2"; shift 2 ;;
    --run-dir) need "$@"; run_dir="$2"; shift 2 ;;
    --stage) need "$@"; stage="$2"; shift 2 ;;
    --max-requeues) need "$@"; max_requeues="$2"; shift 2 ;;
    --grace) need "$@"; grace="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) wr_die "unknown job option '$1' (trainer options go after CONFIG; see --help)" ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || wr_die "CONFIG is missing (see --help)"
config="$1"; shift
[ -f "$config" ] || wr_die "config $config: no such file (relative paths start in the submit directory $PWD)"
[ -n "${SLURM_JOB_ID:-}" ] || wr_die "not inside a Slurm job: submit this with sbatch"
case "$launcher" in srun|mpirun) ;; *) wr_die "--launcher must be srun or mpirun, got '$launcher'" ;; esac
[[ "$max_requeues" =~ ^[0-9]+$ ]] || wr_die "--max-requeues must be a number"
wr_find_trainer
trainer="$WR_TRAINER"
restart="${SLURM_RESTART_COUNT:-0}"
run_dir="${run_dir:-${WILDREID_RUNS:-runs}/${SLURM_JOB_NAME:-train}-$SLURM_JOB_ID}"
threads="${SLURM_CPUS_PER_TASK:-1}"
sets=(--set "run.dir=$run_dir" --set "run.threads=$threads" --set metrics.port_fallback=true)
# A requeued job continues from its newest checkpoint whatever the config says.
[ "$restart" -gt 0 ] && sets+=(--set resume=auto)
wr_log "start (restart $restart) on ${SLURM_JOB_NUM_NODES:-1} node(s) [${SLURM_JOB_NODELIST:-?}]," \
       "${SLURM_NTASKS:-?} rank(s), $threads thread(s) per rank, launcher $launcher, run.dir $run_dir"

# ---- node-local staging of the shard set
on_every_node() {  # one task per node of the allocation
  local nodes="${SLURM_JOB_NUM_NODES:-1}"
  srun --nodes="$nodes" --ntasks="$nodes" --ntasks-per-node=1 "$@"
}
staged=""
if [ -n "$stage" ]; then
  shards="$("$trainer" train --config "$config" "$@" --print-config |
            awk '/^[^ ]/ { in_data = ($1 == "data:") } in_data && $1 == "shards:" { print $2; exit }')"
  shards="${shards%\"}"; shards="${shards#\"}"
  [ -d "$shards" ] || wr_die "--stage: data.shards '$shards' is not a directory"
  staged="$stage/wildreid-$SLURM_JOB_ID-shards"
  wr_log "staging $shards to $staged on every node"
  on_every_node --kill-on-bad-exit=1 "$WR_LAUNCH_DIR/slurm/stage_shards.sh" "$shards" "$staged" ||
    wr_die "staging the shard set failed" 1
  sets+=(--set "data.shards=$staged")
fi

# ---- the ranks
wr_export_rank_env "$threads"
if [ "$launcher" = srun ]; then
  step=(srun --mpi="${WILDREID_SRUN_MPI:-pmix}" --kill-on-bad-exit=1 "$trainer" train --config "$config" "$@" "${sets[@]}")
else
  step=("$WR_LAUNCH_DIR/mpirun-train" --trainer "$trainer" --config "$config" --threads "$threads"
        --cores-per-rank "$threads" --grace $((grace > 15 ? grace - 15 : grace))
        --gpus "$([ -n "${SLURM_GPUS_PER_NODE:-${SLURM_GPUS_ON_NODE:-}}" ] && echo auto || echo none)"
        -- "$@" "${sets[@]}")
fi
WR_GRACE=$grace wr_run_supervised "${step[@]}"
rc=$WR_STEP_RC

case "$rc" in
  0) wr_log "finished; run.dir $run_dir" ;;
  75)
    if [ "$restart" -lt "$max_requeues" ]; then
      wr_log "checkpoint written after a signal: requeueing job $SLURM_JOB_ID (restart $((restart + 1)) of at most $max_requeues)"
      scontrol requeue "$SLURM_JOB_ID" ||
        wr_log "scontrol requeue failed: resubmit with --run-dir $run_dir to resume"
      exit 75
    fi
    wr_log "checkpoint written after a signal; not requeued: $max_requeues requeues reached." \
           "Resubmit with --run-dir $run_dir to resume" ;;
  76) wr_log "a peer rank failed (exit 76): see the 'wildreid rank' lines above; resubmitting resumes from the last checkpoint" ;;
  *) wr_log "trainer exited with code $rc" ;;
esac
if [ -n "$staged" ] && [ "$rc" != 75 ]; then
  on_every_node rm -rf "$staged" || true
fi
exit "$rc"
