// The primitives of the per-op formulas (ops/math/<op>.h): constants, where,
// exp, erfc, sin, cos, abs, mul_add and the exact pieces of exp(-a^2), on
// scalars (float, double; CPU and CUDA). ops/cpu/vec_math.h gives each its
// Vectorized<S> overload, so that every formula also compiles for SIMD
// vectors. Only these and the helpers of ops/math/exp_policy.h may appear in
// a formula, so both instantiations compile from the same text.
#pragma once

#include <c10/macros/Macros.h>

#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>
#include <utility>

// The CPU kernels are compiled once per instruction set. Inline functions
// instantiated in those translation units must not share a mangled name, or
// the linker may keep an AVX-512 copy for the default path (ATen nests its
// kernels in `inline namespace CPU_CAPABILITY` for the same reason).
// Formulas are always inlined into their loops: GCC otherwise keeps the
// larger ones (two exps, a scaled tail) out of line and calls them once per
// vector, with the vectors passed through memory (measured: mish 1.7x slower).
#if defined(__GNUC__) && !defined(__CUDACC__)
#define ACTOPS_INLINE __attribute__((always_inline)) inline
#else
#define ACTOPS_INLINE inline
#endif

// A branch the data almost never takes (a vector with a lane in a deep tail).
#if defined(__GNUC__)
#define ACTOPS_UNLIKELY(cond) __builtin_expect(static_cast<bool>(cond), 0)
#else
#define ACTOPS_UNLIKELY(cond) (cond)
#endif

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

// Whether T has exp_split (ops/cpu/vec_math.h; see SplitExp below).
template <typename T>
struct has_split_exp : std::false_type {};
// Whether T has exp_fast (ops/cpu/vec_math.h; see FastExp below).
template <typename T>
struct has_fast_exp : std::false_type {};

// c<T>(v): the constant v in T's precision, broadcast when T is a vector.
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE T c(double v) {
  return T(static_cast<scalar_of_t<T>>(v));
}

template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE T where(bool cond, T a, T b) {
  return cond ? a : b;
}

// Minimum/maximum of x and a bound (never NaN) that let NaN in x through,
// and x itself where x equals the bound, as the vector forms (vec_math.h)
// and torch.relu do: relu(-0) = -0.
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE T nan_min(T a, T b) {
  return (a != a || a <= b) ? a : b;
}
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE T nan_max(T a, T b) {
  return (a != a || a >= b) ? a : b;
}

C10_HOST_DEVICE ACTOPS_INLINE float exp(float x) { return ::expf(x); }
C10_HOST_DEVICE ACTOPS_INLINE double exp(double x) { return ::exp(x); }

C10_HOST_DEVICE ACTOPS_INLINE float erfc(float x) { return ::erfcf(x); }
C10_HOST_DEVICE ACTOPS_INLINE double erfc(double x) { return ::erfc(x); }

C10_HOST_DEVICE ACTOPS_INLINE float sin(float x) { return ::sinf(x); }
C10_HOST_DEVICE ACTOPS_INLINE double sin(double x) { return ::sin(x); }
C10_HOST_DEVICE ACTOPS_INLINE float cos(float x) { return ::cosf(x); }
C10_HOST_DEVICE ACTOPS_INLINE double cos(double x) { return ::cos(x); }

C10_HOST_DEVICE ACTOPS_INLINE float abs(float x) { return ::fabsf(x); }
C10_HOST_DEVICE ACTOPS_INLINE double abs(double x) { return ::fabs(x); }

// -|x| (one instruction on vectors: the sign bit set)
C10_HOST_DEVICE ACTOPS_INLINE float negative_abs(float x) { return -::fabsf(x); }
C10_HOST_DEVICE ACTOPS_INLINE double negative_abs(double x) { return -::fabs(x); }

// Whether the comparison holds (in any lane, for vectors).
C10_HOST_DEVICE ACTOPS_INLINE bool any(bool cond) { return cond; }

// a * b + c, rounded once where the instruction set has FMA (the kernels are
// built without implicit contraction: each FMA is written).
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE T mul_add(T a, T b, T c) {
#if defined(__CUDACC__) || defined(__FMA__)
  if constexpr (std::is_same_v<T, float>) {
    return ::fmaf(a, b, c);
  } else if constexpr (std::is_same_v<T, double>) {
    return ::fma(a, b, c);
  }
#endif
  return a * b + c;
}
// c - a * b and a * b - c, the same way.
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE T neg_mul_add(T a, T b, T c) {
  return mul_add(-a, b, c);
}
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE T mul_sub(T a, T b, T c) {
  return mul_add(a, b, -c);
}

// A value kept as value * scale, the value a normal number where the
// product would be subnormal: a product formed from it rounds once, at the
// end, and keeps full relative accuracy (exp(-90) * 90 is a normal float,
// exp(-90) alone is not).
template <typename T>
struct Scaled {
  T value, scale;
};

// a^2 = hi + lo exactly (hi the rounded square): keeps exp(-a^2)'s relative
// accuracy where hi alone would lose |a|^2 ulps. float squares exactly in
// double; other scalars split a into halves (Dekker).
template <typename T>
struct SquareParts {
  T hi, lo;
};
C10_HOST_DEVICE ACTOPS_INLINE SquareParts<float> square_parts(float a) {
  const double exact = static_cast<double>(a) * static_cast<double>(a);
  const float hi = static_cast<float>(exact);
  return {hi, static_cast<float>(exact - static_cast<double>(hi))};
}
C10_HOST_DEVICE ACTOPS_INLINE SquareParts<double> square_parts(double a) {
  const double hi = a * a;
  return {hi, ::fma(a, a, -hi)};
}

// exp(hi + lo) for |lo| <= ulp(hi), e.g. exp(-a^2) from square_parts: float
// in double; double as exp(hi) (1 + lo).
C10_HOST_DEVICE ACTOPS_INLINE float exp_parts(float hi, float lo) {
  return static_cast<float>(::exp(static_cast<double>(hi) + static_cast<double>(lo)));
}
C10_HOST_DEVICE ACTOPS_INLINE double exp_parts(double hi, double lo) { return ::exp(hi) * (1.0 + lo); }

// exp(-a^2 / 2) with a^2 taken exactly (e.g. the Gaussian density's exp): x^2
// rounded alone would cost x^2 / 2 ulps (67 at x = 11.6). float in double;
// other types in ops/math/exp_policy.h.
C10_HOST_DEVICE ACTOPS_INLINE float exp_neg_half_square(float a) {
  return static_cast<float>(::exp(-0.5 * static_cast<double>(a) * static_cast<double>(a)));
}
// a^2 up to which float vectors take exp(-a^2 / 2) by exp_neg_half_square_shallow
// (ops/cpu/vec_math.h): 2^k with k >= -93 in one factor, no deep tail.
constexpr float kShallowSquare = 128.0f;

}  // namespace ACTOPS_MATH_NS
}  // namespace actops::math
