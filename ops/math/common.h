// Building blocks for the per-op formulas in ops/math/<op>.h.
//
// Each formula is written once, as a template over T, and instantiated three
// ways: with a scalar (float/double) by the CPU scalar loop and the CUDA
// kernels, and with at::vec::Vectorized<float/double> by the CPU SIMD loop
// (ops/cpu/vec_math.h supplies the Vectorized overloads of these helpers).
// Only the helpers below may appear in a formula, so both instantiations
// compile from the same text.
#pragma once

#include <c10/macros/Macros.h>

#include <cmath>
#include <limits>

// The CPU kernels are compiled once per instruction set. Inline functions
// instantiated in those translation units must not share a mangled name, or
// the linker may keep an AVX-512 copy for the default path (ATen nests its
// kernels in `inline namespace CPU_CAPABILITY` for the same reason).
#if defined(CPU_CAPABILITY)
#define ACTOPS_MATH_NS CPU_CAPABILITY
#else
#define ACTOPS_MATH_NS portable
#endif

namespace actops::math {
inline namespace ACTOPS_MATH_NS {

// Scalar type of T: T itself for scalars; specialized for Vectorized<S>.
template <typename T>
struct scalar_of {
  using type = T;
};
template <typename T>
using scalar_of_t = typename scalar_of<T>::type;

// c<T>(v): the constant v in T's precision, broadcast when T is a vector.
template <typename T>
C10_HOST_DEVICE inline T c(double v) {
  return T(static_cast<scalar_of_t<T>>(v));
}

template <typename T>
C10_HOST_DEVICE inline T where(bool cond, T a, T b) {
  return cond ? a : b;
}

// IEEE-754 minimum/maximum: NaN in either operand gives NaN.
template <typename T>
C10_HOST_DEVICE inline T nan_min(T a, T b) {
  return (a != a || a < b) ? a : b;
}
template <typename T>
C10_HOST_DEVICE inline T nan_max(T a, T b) {
  return (a != a || a > b) ? a : b;
}
template <typename T>
C10_HOST_DEVICE inline T clamp(T x, T lo, T hi) {
  return nan_min(nan_max(x, lo), hi);
}

C10_HOST_DEVICE inline float exp(float x) {
  return ::expf(x);
}
C10_HOST_DEVICE inline double exp(double x) {
  return ::exp(x);
}

// Largest finite value of T's scalar type (negated: lowest()).
template <typename T>
C10_HOST_DEVICE inline T lowest() {
  return T(std::numeric_limits<scalar_of_t<T>>::lowest());
}

}  // namespace ACTOPS_MATH_NS
}  // namespace actops::math

// In a per-instruction-set CPU kernel file, the Vectorized overloads must be
// visible where each formula is defined (two-phase lookup), so they come in
// with this header.
#if defined(CPU_CAPABILITY)
#include "ops/cpu/vec_math.h"
#endif
