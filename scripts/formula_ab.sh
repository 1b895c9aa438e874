#!/bin/sh
# The float32 formulas of two revisions side by side, in cache, on one core:
# how a change to ops/math/ or ops/cpu/vec_math.h moves the arithmetic alone,
# without the noise of memory and of separate processes.
#
#   scripts/formula_ab.sh REV [ISA_FLAGS]
#
# REV: the revision to compare the working tree with (e.g. HEAD~1).
# ISA_FLAGS: default "-mavx2 -mfma -mf16c" (the AVX2 kernels); the AVX-512
# ones need "-mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma -mf16c" and a
# machine that has it. Prints a markdown table: ns per element before and
# after, their ratio, and how far apart the results are (ulps).
set -eu
rev=${1:?usage: scripts/formula_ab.sh REV [ISA_FLAGS]}
isa_flags=${2:--mavx2 -mfma -mf16c}
case "$isa_flags" in
  *avx512*) isa_define=-DCPU_CAPABILITY_AVX512 ;;
  *) isa_define=-DCPU_CAPABILITY_AVX2 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
torch_dir=$("$root/.venv/bin/python" -c 'import os, torch; print(os.path.dirname(torch.__file__))')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git -C "$root" archive "$rev" ops | tar -x -C "$work"
flags="-O3 -std=gnu++17 -ffp-contract=off $isa_flags $isa_define -falign-functions=64 -falign-loops=64 -isystem $torch_dir/include -isystem $torch_dir/include/torch/csrc/api/include"
# shellcheck disable=SC2086
c++ $flags -DCPU_CAPABILITY=BEFORE -DSIDE=before -I"$work" -c "$root/scripts/formula_ab/side.cpp" -o "$work/before.o"
# shellcheck disable=SC2086
c++ $flags -DCPU_CAPABILITY=AFTER -DSIDE=after -I"$root" -c "$root/scripts/formula_ab/side.cpp" -o "$work/after.o"
c++ -O2 "$root/scripts/formula_ab/main.cpp" "$work/before.o" "$work/after.o" -o "$work/formula_ab" \
  -L"$torch_dir/lib" -lc10 -Wl,-rpath,"$torch_dir/lib"
"$work/formula_ab"
