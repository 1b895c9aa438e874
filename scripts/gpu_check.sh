#!/usr/bin/env bash
# The GPU check, for a machine with a CUDA GPU, a CUDA build of torch and
# nvcc (the project's GPU machine: an H100, torch 2.11+cu130, Python 3.12,
# CMake, ninja and pytest, no package registry). In one go, under 8 minutes
# on that machine:
#  1. builds actops with its CUDA kernels against that torch (ACTOPS_CUDA=ON,
#     sm_90 unless TORCH_CUDA_ARCH_LIST says otherwise), in build/gpu;
#  2. checks that every op has a CUDA kernel and runs one
#     (scripts/check_cuda_build.py);
#  3. runs tests/python/test_cuda.py;
#  4. benchmarks every op on the GPU in float32 and bfloat16 at 2^20, 2^24
#     and 2^28 elements, against PyTorch's op or the eager composite, against
#     torch.compile and against the device-to-device copy (scripts/bench.py
#     --device cuda).
# Writes gpu_check.log (every step's output and timing), gpu_bench.md (the
# table) and gpu_bench.json into DIR (default: $OUT, else out/gpu).
#
#     scripts/gpu_check.sh [DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
DEST=${1:-${OUT:-out/gpu}}
mkdir -p "$DEST"
LOG=$DEST/gpu_check.log
PY=${PYTHON:-python3}
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
export PYTHONUNBUFFERED=1
status=0

step() {  # step NAME COMMAND...: runs it, logs its output and seconds; a failure is remembered, not fatal
  local name=$1 start rc
  shift
  start=$(date +%s)
  echo "== $name: $*" | tee -a "$LOG"
  "$@" 2>&1 | tee -a "$LOG"
  rc=${PIPESTATUS[0]}
  echo "== $name: exit $rc after $(($(date +%s) - start)) s" | tee -a "$LOG"
  [ "$rc" -eq 0 ] || status=1
  return "$rc"
}

: >"$LOG"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee -a "$LOG"
"$PY" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda)' 2>&1 | tee -a "$LOG"
step build env ACTOPS_CUDA=ON ACTOPS_BUILD_DIR="$PWD/build/gpu" \
  "$PY" -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps -e . || {
  echo "gpu_check: the build failed; see $LOG" >&2
  exit 1
}
step registration "$PY" scripts/check_cuda_build.py
step test_cuda "$PY" -m pytest tests/python/test_cuda.py -q -rs -p no:cacheprovider
# the table (bench.py's stdout) into gpu_bench.md, its progress into the log
step bench sh -c 'md=$1; shift; exec "$@" >"$md"' sh "$DEST/gpu_bench.md" \
  "$PY" scripts/bench.py --device cuda --dtypes float32 bfloat16 --sizes 20 24 28 \
  --min-run-time 0.05 --max-run-time 0.3 --json "$DEST/gpu_bench.json"
echo "gpu_check: log $LOG, table $DEST/gpu_bench.md (exit $status)" | tee -a "$LOG"
exit "$status"
