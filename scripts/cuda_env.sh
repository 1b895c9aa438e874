#!/bin/sh
# Sets up (once) the environment `make cuda-check` builds and tests in: the
# CUDA 13.0 build of torch 2.11.0 (the release on the project's GPU machine)
# and nvcc 13.0, both from PyPI, in a venv of their own outside the clone
# (about 5 GB). It is kept in a cache directory named after its pins, so a
# machine that has it does not download it again; ACTOPS_CUDA_CACHE moves it.
# Prints the environment's directory (and nothing else) on stdout.
set -eu

PYTHON=${PYTHON:-python3}
TORCH_PIN=torch==2.11.0
CUDA_PINS="nvidia-cuda-nvcc==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-nvvm==13.0.88 nvidia-cuda-cccl==13.0.85"
# What the build needs (CMake, ninja, setuptools: pinned too), and what the test
# suite needs beside torch: requirements-dev.txt's pins.
BUILD_PINS="setuptools==65.5.0 wheel==0.48.0 cmake==3.31.6 ninja==1.11.1.4"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TEST_PINS=$(grep -E '^[A-Za-z0-9_.-]+==' "$ROOT/requirements-dev.txt" | grep -v -E '^torch==')

PYVER=$($PYTHON -c 'import sys; print(f"{sys.version_info[0]}{sys.version_info[1]}")')
KEY=$(printf '%s\n' "$TORCH_PIN" $CUDA_PINS $BUILD_PINS $TEST_PINS | sha256sum | cut -c1-10)
CACHE=${ACTOPS_CUDA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/actops}
ENV_DIR=$CACHE/cuda-env-torch2.11.0-cu130-py$PYVER-$KEY

if [ ! -f "$ENV_DIR/.ready" ]; then
  echo "cuda-env: creating $ENV_DIR" >&2
  start=$(date +%s)
  # environments of earlier pins are not used again: their 5 GB go
  rm -rf "$CACHE"/cuda-env-*
  mkdir -p "$CACHE"
  $PYTHON -m venv "$ENV_DIR"
  # This machine's pip configuration may cap torch at the CPU wheels on its
  # disk: lifted for this environment's installs only.
  PIP_CONSTRAINT= "$ENV_DIR/bin/python" -m pip install -q --disable-pip-version-check \
    "$TORCH_PIN" $CUDA_PINS $TEST_PINS $BUILD_PINS >&2
  CU13=$("$ENV_DIR/bin/python" -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13"))')
  # nvcc.profile links from lib64/, and CMake's FindCUDAToolkit looks for
  # unversioned names: links for both.
  [ -e "$CU13/lib64" ] || ln -s lib "$CU13/lib64"
  for lib in "$CU13"/lib/lib*.so.*; do
    base=${lib%%.so.*}.so
    [ -e "$base" ] || ln -s "$(basename "$lib")" "$base"
  done
  echo "cuda-env: ready in $(( $(date +%s) - start )) s" >&2
  touch "$ENV_DIR/.ready"
fi
echo "$ENV_DIR"
