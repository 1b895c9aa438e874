// Building blocks for the per-op formulas in ops/math/<op>.h.
//
// Each formula is written once, as a template over T, and instantiated three
// ways: with a scalar (float/double) by the CPU scalar loop and the CUDA
// kernels, and with at::vec::Vectorized<float/double> by the CPU SIMD loop
// (ops/cpu/vec_math.h supplies the Vectorized overloads of the primitives).
//   ops/math/primitives.h   constants, where, exp, sin, cos, mul_add, ...
//   ops/math/exp_policy.h   the exact exp policies and composite helpers
//   ops/math/protocol.h     how the loops build and call a formula struct
#pragma once

#include "ops/math/exp_policy.h"
#include "ops/math/primitives.h"
#include "ops/math/protocol.h"
