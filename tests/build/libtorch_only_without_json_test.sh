#!/usr/bin/env bash
# The LibTorch-only build configures and builds on a machine without the JSON library's Debian
# package, the way bench/gpu_check.sh does it on a bare GPU machine: bench/gpu_deps.sh collects
# the package's files, gpu_configure points CMake at them. "Not installed" is simulated in a
# private mount namespace where empty folders hide the package's headers and CMake files (so
# neither CMake nor the compiler can fall back on them). Checks, in that namespace:
#   1. without the collected files, configuring fails and names nlohmann_json;
#   2. with them, configuring succeeds, finds the package in the collected folder, and the
#      torch-free JSON user (checkpoints' safetensors header parser) compiles and links.
# Needs root (unshare -m, mount); skips with a message otherwise.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
  echo "SKIP: needs root and mount namespaces to hide the installed JSON package"
  exit 77
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
deps="$work/deps"
"$root/bench/gpu_deps.sh" "$deps" >/dev/null
test -f "$deps/usr/include/nlohmann/json.hpp"

unshare -m bash -euo pipefail -s "$root" "$work" <<'INNER'
root="$1"; work="$2"
mkdir -p "$work/empty"
for d in /usr/include/nlohmann /usr/share/cmake/nlohmann_json /usr/lib/cmake/nlohmann_json; do
  if [ -d "$d" ]; then mount --bind "$work/empty" "$d"; fi
done
if [ -f /usr/share/pkgconfig/nlohmann_json.pc ]; then mount --bind /dev/null /usr/share/pkgconfig/nlohmann_json.pc; fi
test ! -e /usr/include/nlohmann/json.hpp
source "$root/bench/gpu_configure.sh"
export WILDREID_PYTHON="${WILDREID_PYTHON:-/opt/wildreid/venv/bin/python}"

echo "== 1. without the collected files"
if WILDREID_GPU_DEPS="$work/nowhere" gpu_configure "$work/no-deps" >"$work/no-deps.log" 2>&1; then
  echo "FAIL: configured although the JSON package is hidden"; exit 1
fi
grep -q nlohmann_json "$work/no-deps.log" || { echo "FAIL: the error does not name nlohmann_json"; cat "$work/no-deps.log"; exit 1; }
echo "configure failed as expected: $(grep -m1 -i 'nlohmann_json' "$work/no-deps.log")"

echo "== 2. with bench/gpu_deps.sh's files"
WILDREID_GPU_DEPS="$work/deps" gpu_configure "$work/build" >"$work/configure.log" 2>&1 || { cat "$work/configure.log"; exit 1; }
grep "nlohmann_json_DIR:PATH=$work/deps/" "$work/build/CMakeCache.txt"
cmake --build "$work/build" --target wildreid_safetensors_format
echo "OK"
INNER
