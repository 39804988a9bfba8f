#!/usr/bin/env bash
# Packs the built `trainer` (and bench_gpu_step) with the non-torch shared libraries they load
# (HDF5, OpenCV and what its codecs pull in, yaml-cpp, prometheus-cpp, civetweb, Open MPI's
# runtime, libstdc++) into one folder, so a bare GPU machine that has only torch's Python wheel
# can run the whole trainer without building it: the lent GPU machine has no MPI/HDF5/OpenCV
# development files and counts every minute of compiling against its budget.
#   bench/gpu_bundle.sh [--archive] [BUILD_DIR] [OUT_DIR]
#     BUILD_DIR  a CUDA-enabled build of this checkout (default build/)
#     OUT_DIR    default build-gpu-bundle/ (ignored by git; carry it to the GPU machine)
#     --archive  also write OUT_DIR.tar.zst and check it is under 64 MiB (what one device call
#                may carry); the folder itself is about three times that.
# Torch's own libraries (libtorch*, libc10*, CUDA, cuDNN, NCCL) are not copied: OUT_DIR/run finds
# them in the torch that `python3` imports there (WILDREID_PYTHON overrides), the same wheel
# version this build linked against (checked by the run script). glibc is the target's own, so
# the target needs glibc >= this machine's (printed into OUT_DIR/manifest.txt).
#   OUT_DIR/run trainer train --config ...   runs a bundled binary with the bundled libraries.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
archive=0
if [ "${1:-}" = "--archive" ]; then archive=1; shift; fi
build="${1:-$root/build}"
out="${2:-$root/build-gpu-bundle}"
binaries=(trainer bench_gpu_step)
# The C library and the loader come from the target machine; everything else is packed.
system_libs='^(linux-vdso|ld-linux|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|libutil\.so|libresolv\.so)'

for b in "${binaries[@]}"; do
  [ -x "$build/bin/$b" ] || { echo "gpu_bundle: $build/bin/$b missing (run scripts/build first)" >&2; exit 1; }
done
source "$root/scripts/env.sh"  # the torch this build linked against
python="$WILDREID_PYTHON"
torch_version="$("$python" -c 'import torch; print(torch.__version__)')"

rm -rf "$out.tmp"
mkdir -p "$out.tmp/bin" "$out.tmp/lib"
for b in "${binaries[@]}"; do
  cp "$build/bin/$b" "$out.tmp/bin/$b"
  strip --strip-unneeded "$out.tmp/bin/$b"
  # Every resolved library that is neither torch's (the wheel's folders) nor the C library's.
  ldd "$build/bin/$b" | awk '/=> \//{print $1, $3}' | while read -r name path; do
    if [[ "$name" =~ $system_libs ]] || [[ "$path" == */site-packages/* ]]; then continue; fi
    [ -e "$out.tmp/lib/$name" ] || cp -L "$path" "$out.tmp/lib/$name"
  done
done
if ldd "$build/bin/trainer" | grep -q "not found"; then
  echo "gpu_bundle: $build/bin/trainer has unresolved libraries here:" >&2
  ldd "$build/bin/trainer" | grep "not found" >&2
  exit 1
fi
chmod u+w "$out.tmp"/lib/*
strip --strip-unneeded "$out.tmp"/lib/* 2>/dev/null || true

cat >"$out.tmp/run" <<EOF
#!/usr/bin/env bash
# Runs one of this bundle's binaries (trainer, bench_gpu_step) with the bundle's libraries and the
# torch that \$WILDREID_PYTHON (default python3) imports. Made by bench/gpu_bundle.sh.
set -euo pipefail
here="\$(cd "\$(dirname "\$0")" && pwd)"
[ \$# -ge 1 ] || { echo "usage: \$0 trainer|bench_gpu_step [args...]" >&2; exit 2; }
python="\${WILDREID_PYTHON:-python3}"
read -r version torch_lib < <("\$python" -c 'import os, torch; print(torch.__version__, os.path.join(os.path.dirname(torch.__file__), "lib"))') \\
  || { echo "bundle: \$python cannot import torch (set WILDREID_PYTHON)" >&2; exit 1; }
if [ "\$version" != "$torch_version" ]; then
  echo "bundle: built against torch $torch_version, \$python has \$version" >&2
  exit 1
fi
export LD_LIBRARY_PATH="\$here/lib:\$torch_lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
exec "\$here/bin/\$1" "\${@:2}"
EOF
chmod +x "$out.tmp/run"
{
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) from $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "torch $torch_version"
  echo "needs glibc >= $(ldd --version | head -1 | awk '{print $NF}')"
  (cd "$out.tmp" && du -b bin/* lib/* | sort -k2)
} >"$out.tmp/manifest.txt"
rm -rf "$out"
mv "$out.tmp" "$out"
echo "gpu_bundle: $out ($(du -sh "$out" | cut -f1), $(ls "$out/lib" | wc -l) libraries)"

if [ "$archive" = 1 ]; then
  zstd_level="${WILDREID_BUNDLE_ZSTD_LEVEL:-19}"
  tar -C "$(dirname "$out")" -cf - "$(basename "$out")" | zstd -q -T0 "-$zstd_level" -o "$out.tar.zst.tmp" -f
  mv "$out.tar.zst.tmp" "$out.tar.zst"
  size=$(stat -c %s "$out.tar.zst")
  echo "gpu_bundle: $out.tar.zst $((size / 1024 / 1024)) MiB"
  if [ "$size" -ge $((64 * 1024 * 1024)) ]; then
    echo "gpu_bundle: the archive is over the 64 MiB a device call may carry" >&2
    exit 1
  fi
fi
