#!/bin/sh
# `make cuda-check`: what can be proven of the CUDA build without a GPU.
#  1. the environment of scripts/cuda_env.sh (torch 2.11.0+cu130, nvcc 13.0;
#     created once, outside the clone);
#  2. actops built in it with its CUDA kernels (ACTOPS_CUDA=ON), from a copy
#     of this tree (tracked and untracked files, not ignored ones), so that
#     the CPU build in actops/lib is left alone; for sm_90 only unless
#     TORCH_CUDA_ARCH_LIST says otherwise;
#  3. every op of torch.ops.actops has a CUDA kernel registered, and a call
#     on a CUDA tensor reaches torch's CUDA runtime (scripts/check_cuda_build.py);
#  4. the Python test suite under that torch: the CPU tests prove that the
#     CUDA build loads, leaves the CPU path intact and that the source works
#     on torch 2.11; the GPU tests skip, saying why.
# Prints how long each step took.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
WORK=$ROOT/build/cuda-check
SRC=$WORK/src

t0=$(date +%s)
ENV_DIR=$(sh scripts/cuda_env.sh)
PY=$ENV_DIR/bin/python
CU13=$("$PY" -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13"))')
t1=$(date +%s)

# The copy: file times kept, so that ninja and ccache rebuild only what changed.
rm -rf "$SRC"
mkdir -p "$SRC"
git ls-files -z --cached --others --exclude-standard |
  tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -C "$SRC" -xf -
# The CMake build outlives the copy, one per environment (its cache names
# the environment's tools); the copy's build/ (which tests use, as they use
# the checkout's) is that build.
BUILD_NAME=build-${ENV_DIR##*-}
find "$WORK" -mindepth 1 -maxdepth 1 -name 'build*' ! -name "$BUILD_NAME" -exec rm -rf {} +
mkdir -p "$WORK/$BUILD_NAME"
ln -s "../$BUILD_NAME" "$SRC/build"

export PATH="$CU13/bin:$ENV_DIR/bin:$PATH"
export CUDACXX="$CU13/bin/nvcc" CUDA_PATH="$CU13" CUDAToolkit_ROOT="$CU13"
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"
(cd "$SRC" && ACTOPS_CUDA=ON ACTOPS_BUILD_DIR="$SRC/build" \
  "$PY" -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps -e .)
t2=$(date +%s)

(cd "$SRC" && "$PY" scripts/check_cuda_build.py)
(cd "$SRC" && "$PY" -m pytest tests/python -q -rs)
t3=$(date +%s)

echo "cuda-check: environment $((t1 - t0)) s, build $((t2 - t1)) s, registration and tests $((t3 - t2)) s"
