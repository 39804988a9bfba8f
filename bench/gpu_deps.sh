#!/usr/bin/env bash
# Collects the third-party files a LibTorch-only build needs that a bare GPU machine lacks (it has
# LibTorch, CUDA, cmake and ninja, but no Debian -dev packages): nlohmann-json's headers and CMake
# package, which models/ and checkpoints/ use. Taken from the installed Debian package's file list,
# or unpacked from its .deb when it is not installed. Never committed: the folder is build output
# (ignored by git), carried to the GPU machine with the checkout.
# Usage: bench/gpu_deps.sh [OUT_DIR]   (default: build-gpu-deps/ in the checkout); prints OUT_DIR/usr.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/build-gpu-deps}"
package=nlohmann-json3-dev
rm -rf "$out.tmp"
mkdir -p "$out.tmp"
if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
  dpkg -L "$package" | while read -r f; do
    if [ -f "$f" ]; then install -D -m 644 "$f" "$out.tmp$f"; fi
  done
else
  (cd "$out.tmp" && apt-get download "$package" >/dev/null && dpkg-deb -x "$package"_*.deb . && rm -f ./*.deb)
fi
if [ ! -f "$out.tmp/usr/include/nlohmann/json.hpp" ]; then
  echo "gpu_deps: $package gave no usr/include/nlohmann/json.hpp" >&2
  exit 1
fi
rm -rf "$out"
mv "$out.tmp" "$out"
echo "$out/usr"
