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

// Whether a form's formula is light: a few instructions an element (ReLU,
// ReLU^2, TReLU, ReGLU), so that its calls are bound by memory from a smaller
// size on, and the CPU loops write their outputs with streaming stores from
// that size (ops/cpu/loops.h, stream_threshold).
// A form says so with `static constexpr bool kLight = true`.
template <typename Form, typename = void>
struct is_light : std::false_type {};
template <typename Form>
struct is_light<Form, std::void_t<decltype(Form::kLight)>> : std::bool_constant<Form::kLight> {};
template <typename Form>
inline constexpr bool is_light_v = is_light<Form>::value;

// f(form) for m's chosen form, or f(m) when m has one form.
template <typename Math, typename F>
C10_HOST_DEVICE ACTOPS_INLINE void visit_form(const Math& m, const F& f) {
  if constexpr (has_visit<Math>::value) {
    m.visit(f);
  } else {
    f(m);
  }
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
// other types below (the template after the vector helpers).
C10_HOST_DEVICE ACTOPS_INLINE float exp_neg_half_square(float a) {
  return static_cast<float>(::exp(-0.5 * static_cast<double>(a) * static_cast<double>(a)));
}
// a^2 up to which float vectors take exp(-a^2 / 2) by exp_neg_half_square_shallow
// (ops/cpu/vec_math.h): 2^k with k >= -93 in one factor, no deep tail.
constexpr float kShallowSquare = 128.0f;

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

// exp(-a^2 / 2) through square_parts and exp_parts: double, and vectors
// without an overload of their own (float vectors on AVX2 and AVX-512 have
// one, ops/cpu/vec_math.h; a float scalar is computed in double, above).
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE T exp_neg_half_square(T a) {
  const auto sq = square_parts(a);
  return exp_parts(c<T>(-0.5) * sq.hi, c<T>(-0.5) * sq.lo);
}

template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE T clamp(T x, T lo, T hi) {
  return nan_min(nan_max(x, lo), hi);
}

// Largest finite value of T's scalar type (negated: lowest()).
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE T lowest() {
  return T(std::numeric_limits<scalar_of_t<T>>::lowest());
}
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE T highest() {
  return T(std::numeric_limits<scalar_of_t<T>>::max());
}

// x clamped into the finite range: keeps infinities out of products whose
// other factor underflows to 0 (inf * 0 = NaN); NaN passes through.
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE T finite(T x) {
  return clamp(x, lowest<T>(), highest<T>());
}

// x * s where s is a factor in [0, 1] that underflows to 0 in a tail: there
// the limit is 0, also for infinite x (where x * 0 would be NaN).
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE T times_vanishing(T x, T s) {
  return where(s == c<T>(0), c<T>(0), x * s);
}

// exp(z) as value * scale: below z = -64 (float) / -600 (double), value =
// exp(z + shift) (the shift has few bits, so z + shift is exact) and scale =
// exp(-shift), which keeps value normal below every nonzero result the
// activations can have.
template <typename S>
struct DeepExp;
template <>
struct DeepExp<float> {
  static constexpr double below = -64.0, shift = 44.375, scale = 5.347888766186028e-20;  // exp(-44.375)
};
template <>
struct DeepExp<double> {
  static constexpr double below = -600.0, shift = 320.0, scale = 1.0611231537463512e-139;  // exp(-320)
};

// exp(hi + lo) (see exp_parts) as value * scale.
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE Scaled<T> exp_parts_scaled(T hi, T lo) {
  using Deep = DeepExp<scalar_of_t<T>>;
  const auto deep = hi < c<T>(Deep::below);
  return {exp_parts(where(deep, hi + c<T>(Deep::shift), hi), lo), where(deep, c<T>(Deep::scale), c<T>(1))};
}
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE Scaled<T> exp_scaled(T z) {
  using Deep = DeepExp<scalar_of_t<T>>;
  const auto deep = z < c<T>(Deep::below);
  return {exp(where(deep, z + c<T>(Deep::shift), z)), where(deep, c<T>(Deep::scale), c<T>(1))};
}

// The formulas whose exp can reach the deep tails take it as value * scale
// from a policy E, and never assume scale = 1 unless E::kShallow: then
// every lane's exp argument is above DeepExp::below (eval_exact checked), so
// that scale = 1, exp is normal, and the guards for a deep or infinite lane
// can go:
//   PlainExp:   {exp(z), 1}; exact above DeepExp::below only.
//   ShiftedExp: exp_scaled(z); exact everywhere, a compare and two selects
//               dearer than exp.
//   SplitExp:   the vectorized exp's own 2^k in two factors (exp_split,
//               ops/cpu/vec_math.h: float and double on AVX2 and AVX-512);
//               exact everywhere, at the price of exp.
//   FastExp:    {exp_fast(z), 1} (float vectors on AVX2 and AVX-512): exact
//               above DeepExp::below only, and the cheapest exp there.
// eval_exact picks one per vector. Float vectors (has_fast_exp): FastExp for
// a vector with no deep lane (every vector of ordinary data), SplitExp for
// one with a deep lane, both inline (measured in cache: swish took 1.2x the
// time with the split exp in every lane, 1.25x with the deep form out of
// line, whose call clobbers every vector register of the loop). Double vectors
// (has_split_exp): SplitExp for every lane. Elsewhere: PlainExp for a vector
// with no deep lane, ShiftedExp out of line for one with a deep lane.
struct PlainExp {
  static constexpr bool kShallow = true;
  template <typename T>
  C10_HOST_DEVICE static ACTOPS_INLINE Scaled<T> of(T z) {
    return {exp(z), c<T>(1)};
  }
};
struct ShiftedExp {
  static constexpr bool kShallow = false;
  template <typename T>
  C10_HOST_DEVICE static ACTOPS_INLINE Scaled<T> of(T z) {
    return exp_scaled(z);
  }
};
struct FastExp {
  static constexpr bool kShallow = true;
  template <typename T>
  C10_HOST_DEVICE static ACTOPS_INLINE Scaled<T> of(T z) {
    return {exp_fast(z), c<T>(1)};
  }
};
struct SplitExp {
  static constexpr bool kShallow = false;
  template <typename T>
  C10_HOST_DEVICE static ACTOPS_INLINE Scaled<T> of(T z) {
    return exp_split(z);
  }
};
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE bool deep_exp_lane(T exponent) {
  return any(exponent < c<T>(DeepExp<scalar_of_t<T>>::below));
}

template <typename F, typename... A>
C10_HOST_DEVICE C10_NOINLINE auto eval_deep(const A&... a) {
  return F::template eval<ShiftedExp>(a...);
}

// F::eval<E>(a...), exact in every lane: `exponent` is the (most negative)
// argument F's exp takes.
template <typename F, typename T, typename... A>
C10_HOST_DEVICE ACTOPS_INLINE auto eval_exact(const T& exponent, const A&... a) {
  if constexpr (has_fast_exp<T>::value) {
    // inline, both: a call would clobber every vector register of the loop
    if (ACTOPS_UNLIKELY(deep_exp_lane(exponent))) {
      return F::template eval<SplitExp>(a...);
    }
    return F::template eval<FastExp>(a...);
  } else if constexpr (has_split_exp<T>::value) {
    return F::template eval<SplitExp>(a...);
  } else {
    if (deep_exp_lane(exponent)) {
      return eval_deep<F>(a...);
    }
    return F::template eval<PlainExp>(a...);
  }
}

// The logistic sigmoid of z in the pieces the derivatives need, from one
// exp(-|z|) that never overflows: s = sigma(z), k = s (1 - s) (even in z),
// o = 1 - 2s. The small ones are kept scaled: s and k times `scale` (~ exp(z)
// for negative z, 1 for positive), so that a formula linear in s and k
// multiplies by scale last; and k_alone times k_scale (for either sign: k is
// even), for formulas in k alone. Each keeps full relative accuracy in both
// tails.
template <typename T>
struct SigmoidParts {
  T s, k, o, scale, k_alone, k_scale;
};
struct SigmoidPartsOf {
  template <typename E, typename T>
  C10_HOST_DEVICE static ACTOPS_INLINE SigmoidParts<T> eval(const T& z) {
    const auto e = E::of(negative_abs(z));
    const T et = e.value * e.scale;
    const T r = c<T>(1) / (c<T>(1) + et);
    const auto positive = z >= c<T>(0);
    const T es = where(positive, et, e.value);
    const T r2 = r * r;
    return {where(positive, r, es * r),        es * r2,      where(positive, et - c<T>(1), c<T>(1) - et) * r,
            where(positive, c<T>(1), e.scale), e.value * r2, e.scale};
  }
};
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE SigmoidParts<T> sigmoid_parts(T z) {
  return eval_exact<SigmoidPartsOf>(negative_abs(z), z);
}

// x sigma(z): 0 where sigma(z) underflows to 0, also for an infinite x; in
// the deep negative tail rounded once, at the end.
struct TimesSigmoid {
  template <typename E, typename T>
  C10_HOST_DEVICE static ACTOPS_INLINE T eval(const T& x, const T& z) {
    const auto e = E::of(negative_abs(z));
    const T xr = x / (c<T>(1) + e.value * e.scale);
    if constexpr (E::kShallow) {
      return where(z >= c<T>(0), xr, xr * e.value);
    }
    return where(z >= c<T>(0), xr, times_vanishing(xr, e.value) * e.scale);
  }
};
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE T times_sigmoid(T x, T z) {
  return eval_exact<TimesSigmoid>(negative_abs(z), x, z);
}

// x sigma(z) v, rounded once where x sigma(z) alone would be subnormal (a
// gated unit's gate(g) u with a large u, or a subnormal x): x meets v first,
// except in the deep tail, where x is large (x v could overflow) and meets
// the exp first, v last.
struct TimesSigmoidTimes {
  template <typename E, typename T>
  C10_HOST_DEVICE static ACTOPS_INLINE T eval(const T& x, const T& z, const T& v) {
    const auto e = E::of(negative_abs(z));
    if constexpr (E::kShallow) {
      return ((x * v) / (c<T>(1) + e.value)) * where(z >= c<T>(0), c<T>(1), e.value);
    }
    const auto deep = z < c<T>(DeepExp<scalar_of_t<T>>::below);
    const T first = where(deep, e.value, v);
    const T last = where(z >= c<T>(0), c<T>(1), where(deep, v, e.value) * e.scale);
    // x = -inf meets an exp that underflowed to 0: the limit is 0
    const T xf = where(deep & (e.value == c<T>(0)), c<T>(0), x * first);
    return (xf / (c<T>(1) + e.value * e.scale)) * last;
  }
};
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE T times_sigmoid_times(T x, T z, T v) {
  return eval_exact<TimesSigmoidTimes>(negative_abs(z), x, z, v);
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

// The gradient passes of a two-tensor op, from its form's gradients and
// second_gradients alone; written once for the CPU and CUDA kernels.
// First: grad times the gradients, (grad f_a, grad f_b).
template <typename Form, typename T>
C10_HOST_DEVICE ACTOPS_INLINE Gradient2<T> first_pass(const Form& m, const T& grad, const T& a, const T& b) {
  const auto d = m.gradients(a, b);
  return {grad * d.a, grad * d.b};
}
// Second: the gradients of gg_a . (grad f_a) + gg_b . (grad f_b) in
// (grad, a, b).
template <typename T>
struct SecondPass {
  T grad, a, b;
};
template <typename Form, typename T>
C10_HOST_DEVICE ACTOPS_INLINE SecondPass<T> second_pass(const Form& m, const T& gg_a, const T& gg_b, const T& grad,
                                                        const T& a, const T& b) {
  const auto d = m.gradients(a, b);
  const auto h = m.second_gradients(a, b);
  return {mul_add(gg_a, d.a, gg_b * d.b), grad * mul_add(gg_a, h.aa, gg_b * h.ab),
          grad * mul_add(gg_a, h.ab, gg_b * h.bb)};
}

// C::k[I] as a constant of its own: device code may read a constexpr float
// by value, but not index a host array (C::k) at run time.
template <typename C, size_t I>
inline constexpr float coefficient_v = C::k[I];

template <typename C, typename T, size_t... I>
C10_HOST_DEVICE ACTOPS_INLINE T horner(T u, std::index_sequence<I...> /*rest*/) {
  T p = c<T>(coefficient_v<C, 0>);
  ((p = mul_add(p, u, c<T>(coefficient_v<C, I + 1>))), ...);
  return p;
}

// C::k[0] u^(N-1) + ... + C::k[N-1], Horner's rule, for a struct C holding
// the coefficients as `static constexpr float k[N]`.
template <typename C, typename T>
C10_HOST_DEVICE ACTOPS_INLINE T polynomial(T u) {
  return horner<C>(u, std::make_index_sequence<sizeof(C::k) / sizeof(C::k[0]) - 1>{});
}

}  // namespace ACTOPS_MATH_NS
}  // namespace actops::math
