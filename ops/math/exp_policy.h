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
// scale = exp(z / 2) (z / 2 is exact), each normal down to z = -174.6
// (float) / -1416 (double), twice as deep as exp itself, as the vectors'
// exp_split (ops/cpu/vec_math.h): below every nonzero result the activations
// can have, a gated unit's product with a large up included.
template <typename S>
struct DeepExp;
template <>
struct DeepExp<float> {
  static constexpr double below = -64.0;
};
template <>
struct DeepExp<double> {
  static constexpr double below = -600.0;
};

// exp(hi + lo) (see exp_parts) as value * scale.
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE Scaled<T> exp_parts_scaled(T hi, T lo) {
  const auto deep = hi < c<T>(DeepExp<scalar_of_t<T>>::below);
  const T half = where(deep, c<T>(0.5), c<T>(1));
  const T e = exp_parts(hi * half, lo * half);
  return {e, where(deep, e, c<T>(1))};
}
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE Scaled<T> exp_scaled(T z) {
  const auto deep = z < c<T>(DeepExp<scalar_of_t<T>>::below);
  const T e = exp(where(deep, z * c<T>(0.5), z));
  return {e, where(deep, e, c<T>(1))};
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

// a b - p exactly, p = a b rounded (the error of a product): one FMA where
// the instruction set has it, else Dekker's split of a and b in halves
// (here, after ops/cpu/vec_math.h: vectors take their own mul_add).
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE T product_error(T a, T b, T p) {
#if defined(__CUDACC__) || defined(__FMA__)
  return mul_add(a, b, c<T>(0) - p);
#else
  const T split = c<T>(std::is_same_v<scalar_of_t<T>, float> ? 4097.0 : 134217729.0);  // 2^12 + 1, 2^27 + 1
  const T ta = a * split, tb = b * split;
  const T a_hi = ta - (ta - a), b_hi = tb - (tb - b);
  const T a_lo = a - a_hi, b_lo = b - b_hi;
  return ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo;
#endif
}
// z carried as hi + lo, lo the rounding error of hi = beta x (swish with
// beta != 1): exp(-|z|) from hi alone would be off by |z| / 2 ulps of hi,
// 80 ulps at z = -157, where a gated unit's large up keeps x sigma(z) v
// normal. A z of plain T is exact as it is (beta = 1: z = x).
template <typename T>
struct Sum2 {
  T hi, lo;
};
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE const T& hi_of(const T& z) {
  return z;
}
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE const T& hi_of(const Sum2<T>& z) {
  return z.hi;
}
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE Sum2<T> finite(const Sum2<T>& z) {
  return {finite(z.hi), z.lo};
}
// exp(-|z|) from the policy E
template <typename E, typename T>
C10_HOST_DEVICE ACTOPS_INLINE Scaled<T> exp_negative_abs(const T& z) {
  return E::of(negative_abs(z));
}
// exp(-|hi| -+ lo) = exp(-|hi|) (1 -+ lo), to within lo^2. Where E is
// shallow, |hi| <= 64 in every lane and lo is finite (or NaN with hi); a
// deep lane may hold hi = +-inf and lo = NaN or +-inf (0 * inf, an infinite
// x), where exp(-|hi|) alone is the answer.
template <typename E, typename T>
C10_HOST_DEVICE ACTOPS_INLINE Scaled<T> exp_negative_abs(const Sum2<T>& z) {
  auto e = E::of(negative_abs(z.hi));
  T lo = z.lo;
  if constexpr (!E::kShallow) {
    lo = where(abs(lo) <= highest<T>(), lo, c<T>(0));
  }
  e.value = mul_add(e.value, where(z.hi >= c<T>(0), c<T>(0) - lo, lo), e.value);
  return e;
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
  template <typename E, typename Z>
  C10_HOST_DEVICE static ACTOPS_INLINE auto eval(const Z& zp) {
    using T = std::decay_t<decltype(hi_of(zp))>;
    const T& z = hi_of(zp);
    const auto e = exp_negative_abs<E>(zp);
    const T et = e.value * e.scale;
    const T r = c<T>(1) / (c<T>(1) + et);
    const auto positive = z >= c<T>(0);
    const T es = where(positive, et, e.value);
    const T r2 = r * r;
    return SigmoidParts<T>{
        where(positive, r, es * r),        es * r2,      where(positive, et - c<T>(1), c<T>(1) - et) * r,
        where(positive, c<T>(1), e.scale), e.value * r2, e.scale};
  }
};
template <typename Z>
C10_HOST_DEVICE ACTOPS_INLINE auto sigmoid_parts(const Z& z) {
  return eval_exact<SigmoidPartsOf>(negative_abs(hi_of(z)), z);
}

// x sigma(z): 0 where sigma(z) underflows to 0, also for an infinite x; in
// the deep negative tail rounded once, at the end.
struct TimesSigmoid {
  template <typename E, typename T, typename Z>
  C10_HOST_DEVICE static ACTOPS_INLINE T eval(const T& x, const Z& zp) {
    const T& z = hi_of(zp);
    const auto e = exp_negative_abs<E>(zp);
    const T xr = x / (c<T>(1) + e.value * e.scale);
    if constexpr (E::kShallow) {
      return where(z >= c<T>(0), xr, xr * e.value);
    }
    return where(z >= c<T>(0), xr, times_vanishing(xr, e.value) * e.scale);
  }
};
template <typename T, typename Z>
C10_HOST_DEVICE ACTOPS_INLINE T times_sigmoid(T x, const Z& z) {
  return eval_exact<TimesSigmoid>(negative_abs(hi_of(z)), x, z);
}

// x sigma(z) v, rounded once where x sigma(z) alone would be subnormal (a
// gated unit's gate(g) u with a large u, or a subnormal x): x meets v first,
// except in the deep tail, where x is large (x v could overflow) and meets
// the exp first, v last.
struct TimesSigmoidTimes {
  template <typename E, typename T, typename Z>
  C10_HOST_DEVICE static ACTOPS_INLINE T eval(const T& x, const Z& zp, const T& v) {
    const T& z = hi_of(zp);
    const auto e = exp_negative_abs<E>(zp);
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
template <typename T, typename Z>
C10_HOST_DEVICE ACTOPS_INLINE T times_sigmoid_times(T x, const Z& z, T v) {
  return eval_exact<TimesSigmoidTimes>(negative_abs(hi_of(z)), x, z, v);
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
