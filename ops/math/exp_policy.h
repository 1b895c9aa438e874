// The composite helpers of the formulas: exp(-a^2 / 2), clamps, the exp
// policies that keep every tail exact (value * scale where the result would
// be subnormal), sigmoid's pieces, x sigma(z) rounded once, and polynomials.
// In a per-instruction-set CPU kernel file they see the Vectorized overloads
// of the primitives (ops/cpu/vec_math.h).
#pragma once

#include <cstddef>
#include <utility>

#include "ops/math/primitives.h"

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
