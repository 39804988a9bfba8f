#!/usr/bin/env bash
# tests/launch/netns_rsh.sh: the "ssh" OpenMPI uses to start its daemon on a simulated node
# (mpirun --mca plm_rsh_agent tests/launch/netns_rsh.sh). Called as `agent [ssh options] HOST
# COMMAND...`; HOST is a node name from sim_nodes.sh (its network namespace has the same name).
# Runs COMMAND in that namespace with the node's own hostname (a new UTS namespace), as ssh to
# a real node would.
while [ $# -gt 0 ]; do
  case "$1" in
    -l|-p|-o|-i|-F) shift 2 ;;
    -*) shift ;;
    *) break ;;
  esac
done
host="$1"
shift
exec "$(dirname "$0")/sim_nodes.sh" enter "$host" bash -c "$*"
