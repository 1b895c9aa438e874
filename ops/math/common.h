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
#include <type_traits>

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

// Builds an op's math struct from the op's scalar arguments (after `op`, its
// name for errors): aggregate initialization unless specialized (gelu parses
// its `approximate` string).
template <typename Math>
struct Maker {
  template <typename... Args>
  static Math make(const char* /*op*/, const Args&... args) {
    return Math{args...};
  }
};

// Some math structs choose among forms at run time (gelu's approximate, a
// clamped or plain gated unit): they have visit(f), which calls f with the
// chosen form, a struct of its own, so that each form gets its own loop.
template <typename Math, typename = void>
struct has_visit : std::false_type {};
template <typename Math>
struct has_visit<Math, std::void_t<decltype(&Math::template visit<int (*)(int)>)>> : std::true_type {};

// f(form) for m's chosen form, or f(m) when m has one form.
template <typename Math, typename F>
C10_HOST_DEVICE void visit_form(const Math& m, const F& f) {
  if constexpr (has_visit<Math>::value) {
    m.visit(f);
  } else {
    f(m);
  }
}

template <typename T>
C10_HOST_DEVICE inline T where(bool cond, T a, T b) {
  return cond ? a : b;
}

// Minimum/maximum of x and a bound (never NaN) that let NaN in x through.
template <typename T>
C10_HOST_DEVICE inline T nan_min(T a, T b) {
  return (a != a || a < b) ? a : b;
}
template <typename T>
C10_HOST_DEVICE inline T nan_max(T a, T b) {
  return (a != a || a > b) ? a : b;
}

C10_HOST_DEVICE inline float exp(float x) {
  return ::expf(x);
}
C10_HOST_DEVICE inline double exp(double x) {
  return ::exp(x);
}

C10_HOST_DEVICE inline float erfc(float x) {
  return ::erfcf(x);
}
C10_HOST_DEVICE inline double erfc(double x) {
  return ::erfc(x);
}

C10_HOST_DEVICE inline float abs(float x) {
  return ::fabsf(x);
}
C10_HOST_DEVICE inline double abs(double x) {
  return ::fabs(x);
}

}  // namespace ACTOPS_MATH_NS
}  // namespace actops::math

// In a per-instruction-set CPU kernel file, the Vectorized overloads of the
// primitives above must be visible wherever a formula using them is defined
// (two-phase lookup: Vectorized's namespace is not searched for them), so
// they come in here, before every composite helper and formula.
#if defined(CPU_CAPABILITY)
#include "ops/cpu/vec_math.h"
#endif

namespace actops::math {
inline namespace ACTOPS_MATH_NS {

template <typename T>
C10_HOST_DEVICE inline T clamp(T x, T lo, T hi) {
  return nan_min(nan_max(x, lo), hi);
}

// Largest finite value of T's scalar type (negated: lowest()).
template <typename T>
C10_HOST_DEVICE inline T lowest() {
  return T(std::numeric_limits<scalar_of_t<T>>::lowest());
}
template <typename T>
C10_HOST_DEVICE inline T highest() {
  return T(std::numeric_limits<scalar_of_t<T>>::max());
}

// x clamped into the finite range: keeps infinities out of products whose
// other factor underflows to 0 (inf * 0 = NaN); NaN passes through.
template <typename T>
C10_HOST_DEVICE inline T finite(T x) {
  return clamp(x, lowest<T>(), highest<T>());
}

// x * s where s is a factor in [0, 1] that underflows to 0 in a tail: there
// the limit is 0, also for infinite x (where x * 0 would be NaN).
template <typename T>
C10_HOST_DEVICE inline T times_vanishing(T x, T s) {
  return where(s == c<T>(0), c<T>(0), x * s);
}

// The logistic sigmoid of z in the pieces the derivatives need, from one
// exp(-|z|) that never overflows: s = sigma(z), k = s (1 - s) (even in z),
// o = 1 - 2s. Each keeps full relative accuracy in both tails.
template <typename T>
struct SigmoidParts {
  T s, k, o;
};
template <typename T>
C10_HOST_DEVICE inline SigmoidParts<T> sigmoid_parts(T z) {
  const T e = exp(c<T>(0) - abs(z));
  const T r = c<T>(1) / (c<T>(1) + e);
  const auto positive = z >= c<T>(0);
  return {where(positive, r, e * r), e * r * r, where(positive, e - c<T>(1), c<T>(1) - e) * r};
}
// The derivatives of a function f(a, b) of two tensors (x and a parameter,
// or a gate and an up projection): the backward and double backward of every
// two-tensor op are written with these alone (ops/cpu/binary_kernel.h).
template <typename T>
struct Gradient2 {
  T a, b;  // df/da, df/db
};
template <typename T>
struct Hessian2 {
  T aa, ab, bb;  // d2f/da2, d2f/da db, d2f/db2
};

template <typename T>
C10_HOST_DEVICE inline T sigmoid(T z) {
  const T e = exp(c<T>(0) - abs(z));
  return where(z >= c<T>(0), c<T>(1), e) / (c<T>(1) + e);
}

}  // namespace ACTOPS_MATH_NS
}  // namespace actops::math
