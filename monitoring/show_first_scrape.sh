#!/usr/bin/env bash
# Prints the /metrics URL of every rank of a running training and the key lines of rank 0's
# first scrape that has a step in it (for scripts/demo and for checking a fresh run by hand).
# Plain bash (/dev/tcp), so it needs neither curl nor Prometheus.
#   usage: monitoring/show_first_scrape.sh RUN_DIR [TIMEOUT_S=120]
set -euo pipefail
if [ $# -lt 1 ] || [ "$1" = "--help" ]; then
  echo "usage: $0 RUN_DIR [TIMEOUT_S=120]  (waits for RUN_DIR/prometheus_targets.json)"; exit 2
fi
run_dir=$1
timeout_s=${2:-120}
targets="$run_dir/prometheus_targets.json"
deadline=$((SECONDS + timeout_s))
until [ -s "$targets" ]; do
  [ $SECONDS -lt $deadline ] || { echo "show_first_scrape: no $targets after ${timeout_s}s" >&2; exit 1; }
  sleep 0.2
done
mapfile -t addresses < <(grep -o '"[^"]*:[0-9][0-9]*"' "$targets" | tr -d '"')
for a in "${addresses[@]}"; do echo "metrics: http://$a/metrics"; done
host=${addresses[0]%:*}
port=${addresses[0]##*:}
scrape() {
  exec 3<>"/dev/tcp/$host/$port" || return 1
  printf 'GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n' "$host" >&3
  cat <&3
  exec 3<&-
}
body=""
until grep -q '^wildreid_train_steps_total{.*} [1-9]' <<<"$body"; do
  [ $SECONDS -lt $deadline ] || { echo "show_first_scrape: rank 0 reported no step within ${timeout_s}s" >&2; exit 1; }
  sleep 0.5
  body=$(scrape 2>/dev/null || true)
done
echo "first scrape of rank 0 with a step (key lines):"
grep -E '^wildreid_(build_info|train_(images|steps)_total|train_loss|train_learning_rate|train_step_seconds_count|train_phase_seconds_total|process_resident_memory_bytes)[{ ]' <<<"$body"
