# Shared by launch/mpirun-train and the Slurm scripts in launch/slurm/ (sourced, not run):
# messages, locating the checkout and the trainer binary, the environment every rank needs
# (threads, GPU order, NCCL error handling), and the supervisor that runs a launcher (mpirun,
# srun) with signal forwarding and a backstop for a launcher that never returns.
#
# Why a backstop: when a node is cut off from the network, every trainer rank exits within the
# peer watchdog's timeout (exit code 76, cluster/README.md), but mpirun and the OpenMPI daemon
# on the far side (or srun, for a node slurmctld cannot reach) wait for each other until the
# link returns. The ranks announce their stop with one line, "wildreid rank R: ...; exiting
# with code C"; once such a line has been seen and the launcher is still running WR_GRACE
# seconds later, the launcher's process group is terminated and C is returned.

WR_PROG="${WR_PROG:-launch}"
WR_LAUNCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"   # launch/
WR_ROOT="$(cd "$WR_LAUNCH_DIR/.." && pwd)"                          # the checkout

wr_log() { printf '%s: %s\n' "$WR_PROG" "$*" >&2; }
wr_die() { printf '%s: error: %s\n' "$WR_PROG" "$1" >&2; exit "${2:-2}"; }

# Sets WR_TRAINER to the trainer binary: $WILDREID_TRAINER, else build/bin/trainer of this
# checkout (not a $(...) function: its wr_die must end the script).
wr_find_trainer() {
  WR_TRAINER="${WILDREID_TRAINER:-$WR_ROOT/${BUILD_DIR:-build}/bin/trainer}"
  [ -x "$WR_TRAINER" ] ||
    wr_die "trainer binary not found at $WR_TRAINER (build it with scripts/build, or set WILDREID_TRAINER)"
}

# Exports the per-rank environment (only variables the user has not set):
#   OMP_NUM_THREADS=$1         OpenMP threads of one rank (LibTorch CPU ops, OpenCV); the
#                              trainer sets its intra-op threads from run.threads itself
#   CUDA_DEVICE_ORDER=PCI_BUS_ID  GPU indices as nvidia-smi and Slurm number them, so that the
#                              rank with local rank k drives GPU k
#   TORCH_NCCL_ASYNC_ERROR_HANDLING=1  a timed-out NCCL collective tears the rank down
#                              instead of hanging (the watchdog then stops the others)
#   NCCL_DEBUG=WARN            NCCL prints its errors, not its chatter
# Site-specific NCCL settings (NCCL_SOCKET_IFNAME, NCCL_IB_HCA, ...) are the user's to set;
# wr_forwarded_env lists them for mpirun -x.
wr_export_rank_env() {
  export OMP_NUM_THREADS="${OMP_NUM_THREADS:-${1:-1}}"
  export CUDA_DEVICE_ORDER="${CUDA_DEVICE_ORDER:-PCI_BUS_ID}"
  export TORCH_NCCL_ASYNC_ERROR_HANDLING="${TORCH_NCCL_ASYNC_ERROR_HANDLING:-1}"
  export NCCL_DEBUG="${NCCL_DEBUG:-WARN}"
}

# Names of the environment variables a remote rank must receive (mpirun -x NAME each).
wr_forwarded_env() {
  local name
  for name in PATH LD_LIBRARY_PATH CUDA_DEVICE_ORDER; do [ -n "${!name:-}" ] && echo "$name"; done
  compgen -e | grep -E '^(NCCL_|TORCH_NCCL_|OMP_|WILDREID_|UCX_|SLURM_JOB_ID$|SLURM_RESTART_COUNT$)' || true
}

# GPUs this process may use: the entries of CUDA_VISIBLE_DEVICES when set, else the GPUs
# nvidia-smi lists (0 without nvidia-smi or a driver).
wr_local_gpus() {
  if [ -n "${CUDA_VISIBLE_DEVICES+set}" ]; then
    printf '%s' "$CUDA_VISIBLE_DEVICES" | tr ',' '\n' | grep -c . || true
    return
  fi
  command -v nvidia-smi >/dev/null 2>&1 || { echo 0; return; }
  nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null | grep -c . || true
}

# Runs "$@" as its own process group with stdout+stderr copied through, forwarding USR1, USR2,
# TERM and INT to it (the trainer stops after a checkpoint on USR1/TERM; a TERM is forwarded as
# USR1 because mpirun answers TERM by killing the job). Sets WR_STEP_RC to the command's exit
# status, with two exceptions: when the backstop had to stop the launcher, the code the ranks
# announced; when the launcher itself reported a lost node (mpirun: "ORTE has lost communication
# with a remote daemon", srun: "Node failure on"), 76 like any peer failure, since its own code
# (mpirun: 205) means nothing to a scheduler script.
# WR_GRACE: seconds to wait for the launcher after the first rank announced its stop (30).
wr_run_supervised() {
  local grace="${WR_GRACE:-30}" marker
  marker="$(mktemp "${TMPDIR:-/tmp}/wildreid-stop.XXXXXX")"
  trap "rm -f '$marker'" EXIT  # also when a signal ends the script
  setsid "$@" > >(wr_watch_output "$marker") 2>&1 &
  WR_STEP_PID=$!
  trap 'wr_forward USR1' USR1 TERM
  trap 'wr_forward USR2' USR2
  trap 'wr_forward INT' INT
  local stopped_at="" code="" killed=0
  while kill -0 "$WR_STEP_PID" 2>/dev/null; do
    if [ -z "$stopped_at" ] && [ -s "$marker" ]; then stopped_at=$SECONDS; code="$(head -n 1 "$marker")"; fi
    if [ -n "$stopped_at" ] && [ $((SECONDS - stopped_at)) -ge "$grace" ]; then
      wr_log "a rank stopped with exit code $code ${grace} s ago but the launcher is still running" \
             "(a node cut off from the network?): terminating it"
      wr_kill_group "$WR_STEP_PID"
      killed=1
      break
    fi
    sleep 1
  done
  wait "$WR_STEP_PID"
  WR_STEP_RC=$?
  # Let the watcher see the launcher's last lines (unless ranks it left behind hold the pipe).
  local i
  for i in 1 2 3 4 5 6 7 8 9 10; do grep -q eof "$marker" && break; sleep 0.2; done
  if [ "$killed" = 1 ]; then
    WR_STEP_RC="${code:-1}"
  elif [ "$WR_STEP_RC" != 0 ] && grep -q lost "$marker"; then
    wr_log "the launcher lost contact with a node (its exit code $WR_STEP_RC): reporting a peer failure (76)"
    WR_STEP_RC=76
  fi
  trap - USR1 USR2 TERM INT EXIT
  rm -f "$marker"
  WR_STEP_PID=""
}

# Copies stdin to stdout line by line (a bash loop: mawk would hold lines back in its input
# buffer) and records in $1 the first announced stop code, "lost" if the launcher reported a
# lost node, and "eof" at the end of the output.
wr_watch_output() {
  local marker="$1" line seen=0 lost=0
  local stop='^wildreid rank [0-9]+: .*; exiting with code ([0-9]+)'
  while IFS= read -r line || [ -n "$line" ]; do
    printf '%s\n' "$line"
    if [ "$seen" = 0 ] && [[ "$line" =~ $stop ]]; then
      seen=1
      echo "${BASH_REMATCH[1]}" > "$marker"
    fi
    if [ "$lost" = 0 ] && [[ "$line" == *"ORTE has lost communication with a remote daemon"* ||
                              "$line" == *"srun: error: Node failure on"* ]]; then
      [ "$seen" = 1 ] || echo 76 > "$marker"
      seen=1 lost=1
      echo lost >> "$marker"
    fi
  done
  echo eof >> "$marker"
}

wr_forward() {
  [ -n "${WR_STEP_PID:-}" ] || return 0
  wr_log "forwarding SIG$1 to the launcher (pid $WR_STEP_PID)"
  kill -s "$1" "$WR_STEP_PID" 2>/dev/null || true
}

# TERM to a process group, KILL after 10 s.
wr_kill_group() {
  kill -TERM -- "-$1" 2>/dev/null || return 0
  local i
  for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 -- "-$1" 2>/dev/null || return 0; sleep 1; done
  kill -KILL -- "-$1" 2>/dev/null || true
}
