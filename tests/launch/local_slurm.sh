#!/usr/bin/env bash
# tests/launch/local_slurm.sh: a throw-away Slurm cluster for tests, from Debian's slurm-wlm and
# munge, everything (configs, keys, sockets, state, spool, logs, pid files) in one directory:
# munged on its own socket, slurmctld, and slurmd for one node (this host on 127.0.0.1) or for
# each simulated node of sim_nodes.sh (slurmd inside the node's network and UTS namespaces).
# CPU only (proctrack/linuxproc, task/none, no accounting); every node advertises fake GPUs
# (gres "gpu" on /dev/null-like device files) so the project's GPU batch scripts run unchanged.
#
#   local_slurm.sh up DIR PORT [PREFIX NET N] [OWNER_PID=pid]
#       PORT: slurmctld listens on PORT, slurmd on PORT+1 (give each concurrent cluster its own).
#       PREFIX NET N: N simulated nodes made by `sim_nodes.sh up PREFIX NET N` (done by the
#       caller); slurmctld then listens on the bridge address 198.18.NET.254.
#       OWNER_PID: a detached reaper runs `down DIR` when that process ends (a killed test).
#       Prints nothing; clients need `export SLURM_CONF=DIR/slurm.conf`.
#   local_slurm.sh down DIR
#       Cancels the jobs, stops the daemons, and kills every process still carrying this
#       cluster's SLURM_CONF in its environment (job steps outlive slurmd with linuxproc).
# Environment: WR_SLURM_CPUS (CPUs per node, default 2), WR_SLURM_GPUS (fake GPUs per node, 8).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local limit="$1" what="$2" i
  shift 2
  for i in $(seq 1 $((limit * 5))); do "$@" > /dev/null 2>&1 && return 0; sleep 0.2; done
  echo "local_slurm: $what not ready after ${limit} s; logs in $dir/log:" >&2
  tail -n 20 "$dir"/log/* >&2 || true
  return 1
}

down() {
  dir="$1"
  [ -f "$dir/slurm.conf" ] || return 0
  export SLURM_CONF="$dir/slurm.conf"
  timeout 10 scancel --full --quiet --state=RUNNING,PENDING,SUSPENDED,REQUEUED 2>/dev/null || true
  local pidfile pid
  for pidfile in "$dir"/run/*.pid; do
    [ -f "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  done
  # Everything started under this cluster has its SLURM_CONF (daemons, slurmstepd, job tasks).
  local marker="SLURM_CONF=$dir/slurm.conf" environ
  for environ in /proc/[0-9]*/environ; do
    pid="${environ#/proc/}"; pid="${pid%/environ}"
    [ "$pid" = "$$" ] && continue
    if { tr '\0' '\n' < "$environ"; } 2>/dev/null | grep -qxF "$marker"; then kill -9 "$pid" 2>/dev/null || true; fi
  done
  rm -f "$dir/slurm.conf"
}

up() {
  dir="$1" port="$2"
  shift 2
  local prefix="" net="" n=0 owner=""
  if [ $# -ge 3 ] && [[ "$1" != OWNER_PID=* ]]; then prefix="$1" net="$2" n="$3"; shift 3; fi
  [ $# -ge 1 ] && [[ "$1" == OWNER_PID=* ]] && owner="${1#OWNER_PID=}"
  command -v slurmctld > /dev/null && command -v munged > /dev/null ||
    { echo "local_slurm: slurmctld/munged not installed (scripts/setup installs slurm-wlm and munge)" >&2; exit 77; }
  mkdir -p "$dir"/{state,spool,log,run,dev}
  local cpus="${WR_SLURM_CPUS:-2}" gpus="${WR_SLURM_GPUS:-8}" host ctld_addr k
  host="$(hostname -s)"
  local -a names addrs
  if [ -z "$prefix" ]; then
    names=("$host"); addrs=(127.0.0.1); ctld_addr=127.0.0.1
  else
    ctld_addr="198.18.$net.254"
    for k in $(seq 1 "$n"); do names+=("$prefix-n$k"); addrs+=("198.18.$net.$k"); done
  fi
  for k in $(seq 0 $((gpus - 1))); do [ -e "$dir/dev/gpu$k" ] || mknod "$dir/dev/gpu$k" c 1 3; done

  # munge: its own key and socket
  [ -f "$dir/munge.key" ] || mungekey --create --keyfile="$dir/munge.key" 2> /dev/null ||
    dd if=/dev/urandom of="$dir/munge.key" bs=128 count=1 status=none
  chmod 600 "$dir/munge.key"
  munged --force --socket="$dir/run/munge.socket" --key-file="$dir/munge.key" --pid-file="$dir/run/munged.pid" \
    --log-file="$dir/log/munged.log" --seed-file="$dir/run/munged.seed"

  {
    echo "ClusterName=wrtest"
    echo "SlurmctldHost=$host($ctld_addr)"
    echo "SlurmctldPort=$port"
    echo "SlurmdPort=$((port + 1))"
    echo "SlurmUser=root"
    echo "SlurmdUser=root"
    echo "AuthType=auth/munge"
    echo "CredType=cred/munge"
    echo "AuthInfo=socket=$dir/run/munge.socket"
    echo "StateSaveLocation=$dir/state"
    echo "SlurmdSpoolDir=$dir/spool/%n"
    echo "TmpFS=$dir/tmp/%n"     # per node: PMIx puts its rendezvous files there
    echo "SlurmctldPidFile=$dir/run/slurmctld.pid"
    echo "SlurmdPidFile=$dir/run/slurmd-%n.pid"
    echo "SlurmctldLogFile=$dir/log/slurmctld.log"
    echo "SlurmdLogFile=$dir/log/slurmd-%n.log"
    echo "SlurmctldDebug=info"
    echo "SlurmdDebug=info"
    echo "ProctrackType=proctrack/linuxproc"
    echo "TaskPlugin=task/none"
    echo "JobAcctGatherType=jobacct_gather/none"
    echo "AccountingStorageType=accounting_storage/none"
    echo "MpiDefault=pmix"
    echo "MailProg=/bin/true"
    echo "ReturnToService=2"
    echo "SchedulerType=sched/backfill"
    echo "SelectType=select/cons_tres"
    echo "SelectTypeParameters=CR_Core"
    echo "GresTypes=gpu"
    # Short kill/message timeouts so tests end quickly; SlurmdTimeout keeps Slurm's default so that
    # a node cut off from the network is not declared dead (and the job killed) by Slurm before
    # the batch script's own handling, which must return well within that, is exercised.
    echo "KillWait=5"
    echo "MessageTimeout=5"
    echo "SlurmdTimeout=300"
    echo "InactiveLimit=0"
    echo "MinJobAge=600"
    for k in "${!names[@]}"; do
      echo "NodeName=${names[$k]} NodeAddr=${addrs[$k]} CPUs=$cpus Gres=gpu:$gpus State=UNKNOWN"
    done
    echo "PartitionName=test Nodes=$(IFS=,; echo "${names[*]}") Default=YES MaxTime=INFINITE State=UP"
  } > "$dir/slurm.conf"
  for k in "${!names[@]}"; do
    echo "NodeName=${names[$k]} Name=gpu File=$dir/dev/gpu[0-$((gpus - 1))]"
  done > "$dir/gres.conf"

  export SLURM_CONF="$dir/slurm.conf"
  setsid slurmctld -D -f "$SLURM_CONF" < /dev/null > "$dir/log/slurmctld.out" 2>&1 &
  wait_for 30 slurmctld scontrol ping || exit 1
  for k in "${!names[@]}"; do
    mkdir -p "$dir/spool/${names[$k]}" "$dir/tmp/${names[$k]}"
    if [ -z "$prefix" ]; then
      setsid slurmd -D -N "${names[$k]}" -f "$SLURM_CONF" < /dev/null > "$dir/log/slurmd-${names[$k]}.out" 2>&1 &
    else
      setsid "$here/sim_nodes.sh" exec "$prefix" $((k + 1)) slurmd -D -N "${names[$k]}" -f "$SLURM_CONF" \
        < /dev/null > "$dir/log/slurmd-${names[$k]}.out" 2>&1 &
    fi
  done
  idle() { [ "$(sinfo -h -o '%t' | sort -u | tr -d '\n')" = idle ]; }
  wait_for 60 "slurmd (all nodes idle)" idle || exit 1
  if [ -n "$owner" ]; then
    setsid bash -c "while kill -0 $owner 2>/dev/null; do sleep 1; done; '$0' down '$dir'" \
      < /dev/null > /dev/null 2>&1 &
  fi
}

case "${1:-}" in
  up) [ $# -ge 3 ] || { echo "usage: local_slurm.sh up DIR PORT [PREFIX NET N] [OWNER_PID=pid]" >&2; exit 2; }
      shift; up "$@" ;;
  down) [ $# -ge 2 ] || { echo "usage: local_slurm.sh down DIR" >&2; exit 2; }; down "$2" ;;
  *) echo "usage: local_slurm.sh up|down DIR ... (see the header)" >&2; exit 2 ;;
esac
