#!/usr/bin/env bash
# The trainer bundle (bench/gpu_bundle.sh) runs on a machine that has nothing but glibc and torch's
# wheel: in a private mount namespace the system library folder is replaced by one holding only
# the C library's files, and the bundled trainer synthesises, packs and trains a tiny set there.
# Also checks the bundle's run script: it refuses a torch of another version, naming both.
#   tests/build/gpu_bundle_test.sh BUILD_DIR
# Needs root (unshare -m, mount); skips with a message otherwise.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:?usage: gpu_bundle_test.sh BUILD_DIR}"
if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
  echo "SKIP: needs root and mount namespaces to hide the system libraries"
  exit 77
fi
source "$root/scripts/env.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$root/bench/gpu_bundle.sh" "$build" "$work/bundle"
torch_lib="$("$WILDREID_PYTHON" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"

echo "== the run script refuses another torch version"
printf '#!/bin/sh\necho "9.9.9 /nowhere"\n' >"$work/other_python"
chmod +x "$work/other_python"
if WILDREID_PYTHON="$work/other_python" "$work/bundle/run" trainer --help >"$work/version.log" 2>&1; then
  echo "FAIL: ran with a torch of another version"; exit 1
fi
grep -q "9.9.9" "$work/version.log" || { echo "FAIL: the refusal does not name the version"; cat "$work/version.log"; exit 1; }
cat "$work/version.log"

echo "== the bundled trainer with only the C library from the system"
libdir=/usr/lib/x86_64-linux-gnu
mkdir -p "$work/glibc_only"
for f in "$libdir"/ld-linux-x86-64.so.* "$libdir"/lib{c,m,dl,pthread,rt,util,resolv}.so.* "$libdir"/libnss_*.so.*; do
  [ -e "$f" ] && cp -L "$f" "$work/glibc_only/"
done
config="$root/configs/tiny_cpu.yaml"
# Only bash builtins and the bundled binary run once the folder is hidden; checks happen outside.
unshare -m bash -s "$work" "$libdir" "$torch_lib" "$config" <<'INNER'
set -eu
work="$1"; libdir="$2"; torch_lib="$3"; config="$4"
mount --bind "$work/glibc_only" "$libdir"
export LD_LIBRARY_PATH="$work/bundle/lib:$torch_lib"
bin="$work/bundle/bin/trainer"
{
  "$bin" synth --out "$work/synth" --seed 7 --identities 6 --unknowns 0 --images 6 --size 64 --quiet &&
  "$bin" pack --metadata "$work/synth/metadata.csv" --out "$work/shards" --quiet &&
  "$bin" train --config "$config" --set data.shards="$work/shards" --set run.dir="$work/run" \
    --set train.epochs=1 --set model.img_size=32 --set run.threads=1
} >"$work/hidden.log" 2>&1
echo $? >"$work/hidden.rc"
INNER
cat "$work/hidden.log"
rc="$(cat "$work/hidden.rc" 2>/dev/null || echo missing)"
[ "$rc" = 0 ] || { echo "FAIL: the bundled trainer exited with $rc with the system libraries hidden"; exit 1; }
grep -q "trainer: finished at step" "$work/hidden.log" || { echo "FAIL: training did not finish"; exit 1; }
ls "$work/run"/*.safetensors >/dev/null || { echo "FAIL: no checkpoint written"; exit 1; }
echo "bundle: $(du -sh "$work/bundle" | cut -f1); trained with only glibc from the system"
