# Sourced by bench/gpu_check.sh and its test: configures a LibTorch-only build the way a bare GPU
# machine can. LibTorch comes from the torch the Python interpreter finds
# (torch.utils.cmake_prefix_path, printed), the JSON library from bench/gpu_deps.sh's folder when
# the machine has none of its own.
#   gpu_configure BUILD_DIR [extra cmake args...]
# Environment: WILDREID_PYTHON (default python3), WILDREID_GPU_DEPS (default ROOT/build-gpu-deps).
gpu_configure() {
  local build="$1"
  shift
  local root python torch_prefix deps
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  python="${WILDREID_PYTHON:-python3}"
  torch_prefix="$("$python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')"
  deps="${WILDREID_GPU_DEPS:-$root/build-gpu-deps}/usr"
  echo "gpu_configure: LibTorch from $torch_prefix (the torch of $python); other packages from $deps"
  cmake -G Ninja -S "$root" -B "$build" -DWILDREID_LIBTORCH_ONLY=ON -DWILDREID_BUILD_TESTS=OFF \
    -DWILDREID_PYTHON="$python" -DCMAKE_PREFIX_PATH="$deps;$torch_prefix" "$@"
}
