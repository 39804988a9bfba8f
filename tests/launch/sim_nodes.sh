#!/usr/bin/env bash
# tests/launch/sim_nodes.sh: "nodes" for multi-node tests on one machine. Each node is a network
# namespace named PREFIX-nK with one veth into a bridge PREFIX-br in the root namespace, an
# address in the benchmarking range 198.18.NET.K/24 (never the private ranges) and the bridge at
# 198.18.NET.254. Names resolve inside the nodes through /etc/netns/PREFIX-nK/hosts (which
# every process entering a node sees as /etc/hosts). Processes get the node's own hostname from a UTS
# namespace when started with `sim_nodes.sh exec` or the rsh agent (netns_rsh.sh): without it
# the trainer sees one node and OpenMPI's shared-memory transport collides.
#
#   sim_nodes.sh up PREFIX NET N [OWNER_PID]  create N nodes; with OWNER_PID a detached reaper
#                                             tears them down when that process ends
#   sim_nodes.sh down PREFIX                  kill every process in the nodes, delete them
#   sim_nodes.sh cut PREFIX K | mend PREFIX K take node K's link down / up
#   sim_nodes.sh exec PREFIX K CMD...         run CMD on node K (its netns + hostname)
#   sim_nodes.sh enter NODE CMD...            the same by node name (PREFIX-nK)
# Nodes are entered with nsenter + unshare rather than `ip netns exec`, which would remount /sys
# without the cgroup file system slurmd needs; the node's hosts file is bind-mounted instead.
# PREFIX must be short (interface names have 15 characters): e.g. "wrm1".
set -euo pipefail

node_ns() { echo "$1-n$2"; }

down() {
  local prefix="$1" ns pid link
  for ns in $(ip netns list | awk '{print $1}' | grep -E "^${prefix}-n[0-9]+$" || true); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
  done
  # Delete the veths explicitly: a namespace outlives its name while orphaned TCP sockets (to a
  # node that was cut off) still retransmit, and its veth would linger with it for minutes.
  for link in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E "^${prefix}-v[0-9]+$" || true); do
    ip link del "$link" 2>/dev/null || true
  done
  for ns in $(ip netns list | awk '{print $1}' | grep -E "^${prefix}-n[0-9]+$" || true); do
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "/etc/netns/$ns"
  done
  ip link del "${prefix}-br" 2>/dev/null || true
}

up() {
  local prefix="$1" net="$2" n="$3" owner="${4:-}" k j ns
  [ ${#prefix} -le 8 ] || { echo "sim_nodes: prefix '$prefix' longer than 8 characters" >&2; exit 2; }
  down "$prefix"
  ip link add "${prefix}-br" type bridge
  ip addr add "198.18.$net.254/24" dev "${prefix}-br"
  ip link set "${prefix}-br" up
  for k in $(seq 1 "$n"); do
    ns="$(node_ns "$prefix" "$k")"
    ip netns add "$ns"
    ip link add "${prefix}-v$k" type veth peer name eth0 netns "$ns"
    ip link set "${prefix}-v$k" master "${prefix}-br" up
    ip -n "$ns" addr add "198.18.$net.$k/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    mkdir -p "/etc/netns/$ns"
    { echo "127.0.0.1 localhost"
      for j in $(seq 1 "$n"); do echo "198.18.$net.$j $(node_ns "$prefix" "$j")"; done
      echo "198.18.$net.254 ${prefix}-head $(hostname)"; } > "/etc/netns/$ns/hosts"
  done
  if [ -n "$owner" ]; then
    setsid bash -c "while kill -0 $owner 2>/dev/null; do sleep 1; done; '$0' down '$prefix'" \
      < /dev/null > /dev/null 2>&1 &
  fi
}

enter() {
  local ns="$1"
  shift
  [ -e "/run/netns/$ns" ] || { echo "sim_nodes: no simulated node '$ns'" >&2; exit 255; }
  exec nsenter --net="/run/netns/$ns" unshare --uts --mount --propagation private \
    bash -c 'mount --bind "/etc/netns/$0/hosts" /etc/hosts && hostname "$0" && exec "$@"' "$ns" "$@"
}

case "${1:-}" in
  up) [ $# -ge 4 ] || { echo "usage: sim_nodes.sh up PREFIX NET N [OWNER_PID]" >&2; exit 2; }; up "$2" "$3" "$4" "${5:-}" ;;
  down) down "$2" ;;
  cut) ip link set "$2-v$3" down ;;
  mend) ip link set "$2-v$3" up ;;
  exec) ns="$(node_ns "$2" "$3")"; shift 3; enter "$ns" "$@" ;;
  enter) ns="$2"; shift 2; enter "$ns" "$@" ;;
  *) echo "usage: sim_nodes.sh up|down|cut|mend|exec ... (see the header)" >&2; exit 2 ;;
esac
