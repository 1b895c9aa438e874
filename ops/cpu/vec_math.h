// Vectorized<S> overloads of the primitives in ops/math/primitives.h, so that every
// formula in ops/math/ also compiles for SIMD vectors. Included only by the
// per-instruction-set kernel files (ops/cpu/*_kernel.cpp).
#pragma once

#include <ATen/cpu/vec/vec.h>

#include "ops/math/primitives.h"

namespace actops::math {
inline namespace ACTOPS_MATH_NS {

template <typename S>
struct scalar_of<at::vec::Vectorized<S>> {
  using type = S;
};

// `cond` is a comparison result: all bits set in the lanes where it holds.
template <typename S>
ACTOPS_INLINE at::vec::Vectorized<S> where(const at::vec::Vectorized<S>& cond, const at::vec::Vectorized<S>& a,
                                           const at::vec::Vectorized<S>& b) {
  return at::vec::Vectorized<S>::blendv(b, a, cond);
}

// nan_min(x, bound) / nan_max(x, bound): NaN in x passes through; the second
// operand is a bound and never NaN, which lets AVX2/AVX-512 use one min/max
// instruction with the operands ordered so that a NaN x is what it returns.
template <typename S>
ACTOPS_INLINE at::vec::Vectorized<S> nan_min(const at::vec::Vectorized<S>& a, const at::vec::Vectorized<S>& b) {
  return at::vec::minimum(a, b);
}
template <typename S>
ACTOPS_INLINE at::vec::Vectorized<S> nan_max(const at::vec::Vectorized<S>& a, const at::vec::Vectorized<S>& b) {
  return at::vec::maximum(a, b);
}

#if defined(CPU_CAPABILITY_AVX512)
template <>
ACTOPS_INLINE at::vec::Vectorized<float> nan_min(const at::vec::Vectorized<float>& a,
                                                 const at::vec::Vectorized<float>& b) {
  return _mm512_min_ps(b, a);
}
template <>
ACTOPS_INLINE at::vec::Vectorized<float> nan_max(const at::vec::Vectorized<float>& a,
                                                 const at::vec::Vectorized<float>& b) {
  return _mm512_max_ps(b, a);
}
template <>
ACTOPS_INLINE at::vec::Vectorized<double> nan_min(const at::vec::Vectorized<double>& a,
                                                  const at::vec::Vectorized<double>& b) {
  return _mm512_min_pd(b, a);
}
template <>
ACTOPS_INLINE at::vec::Vectorized<double> nan_max(const at::vec::Vectorized<double>& a,
                                                  const at::vec::Vectorized<double>& b) {
  return _mm512_max_pd(b, a);
}
#elif defined(CPU_CAPABILITY_AVX2)
template <>
ACTOPS_INLINE at::vec::Vectorized<float> nan_min(const at::vec::Vectorized<float>& a,
                                                 const at::vec::Vectorized<float>& b) {
  return _mm256_min_ps(b, a);
}
template <>
ACTOPS_INLINE at::vec::Vectorized<float> nan_max(const at::vec::Vectorized<float>& a,
                                                 const at::vec::Vectorized<float>& b) {
  return _mm256_max_ps(b, a);
}
template <>
ACTOPS_INLINE at::vec::Vectorized<double> nan_min(const at::vec::Vectorized<double>& a,
                                                  const at::vec::Vectorized<double>& b) {
  return _mm256_min_pd(b, a);
}
template <>
ACTOPS_INLINE at::vec::Vectorized<double> nan_max(const at::vec::Vectorized<double>& a,
                                                  const at::vec::Vectorized<double>& b) {
  return _mm256_max_pd(b, a);
}
#endif

// exp: SLEEF's, correct to 1 ulp (float on AVX2 and AVX-512: inline, below).
template <typename S>
ACTOPS_INLINE at::vec::Vectorized<S> exp(const at::vec::Vectorized<S>& x) {
  return x.exp();
}

// sin and cos: SLEEF's, correct to 1 ulp over the whole range.
template <typename S>
ACTOPS_INLINE at::vec::Vectorized<S> sin(const at::vec::Vectorized<S>& x) {
  return x.sin();
}
template <typename S>
ACTOPS_INLINE at::vec::Vectorized<S> cos(const at::vec::Vectorized<S>& x) {
  return x.cos();
}

// Whether a comparison result holds in any lane: one movemask of the lanes'
// sign bits where the instruction set has it.
template <typename S>
ACTOPS_INLINE bool any(const at::vec::Vectorized<S>& cond) {
  return cond.zero_mask() != (1 << at::vec::Vectorized<S>::size()) - 1;
}
#if defined(CPU_CAPABILITY_AVX512)
template <>
ACTOPS_INLINE bool any(const at::vec::Vectorized<float>& cond) {
  return _mm512_movepi32_mask(_mm512_castps_si512(cond)) != 0;
}
template <>
ACTOPS_INLINE bool any(const at::vec::Vectorized<double>& cond) {
  return _mm512_movepi64_mask(_mm512_castpd_si512(cond)) != 0;
}
#elif defined(CPU_CAPABILITY_AVX2)
template <>
ACTOPS_INLINE bool any(const at::vec::Vectorized<float>& cond) {
  return _mm256_movemask_ps(cond) != 0;
}
template <>
ACTOPS_INLINE bool any(const at::vec::Vectorized<double>& cond) {
  return _mm256_movemask_pd(cond) != 0;
}
#endif

template <typename S>
ACTOPS_INLINE at::vec::Vectorized<S> mul_add(const at::vec::Vectorized<S>& a, const at::vec::Vectorized<S>& b,
                                             const at::vec::Vectorized<S>& c) {
  return at::vec::fmadd(a, b, c);
}
template <typename S>
ACTOPS_INLINE at::vec::Vectorized<S> neg_mul_add(const at::vec::Vectorized<S>& a, const at::vec::Vectorized<S>& b,
                                                 const at::vec::Vectorized<S>& c) {
  return at::vec::fnmadd(a, b, c);
}
template <typename S>
ACTOPS_INLINE at::vec::Vectorized<S> mul_sub(const at::vec::Vectorized<S>& a, const at::vec::Vectorized<S>& b,
                                             const at::vec::Vectorized<S>& c) {
  return at::vec::fmsub(a, b, c);
}

// a^2 = hi + lo exactly: Dekker's split where there is no FMA, and one FMA
// (lo = a a - hi) where there is.
template <typename S>
ACTOPS_INLINE SquareParts<at::vec::Vectorized<S>> square_parts(const at::vec::Vectorized<S>& a) {
  using V = at::vec::Vectorized<S>;
  constexpr S kSplit = sizeof(S) == sizeof(float) ? S(4097) : S(134217729);  // 2^12 + 1, 2^27 + 1
  const V big = a * V(kSplit);
  const V a_hi = big - (big - a);
  const V a_lo = a - a_hi;
  const V hi = a * a;
  return {hi, ((a_hi * a_hi - hi) + V(S(2)) * a_hi * a_lo) + a_lo * a_lo};
}

// exp(hi + lo) for |lo| <= ulp(hi): exp(hi) (1 + lo).
template <typename S>
ACTOPS_INLINE at::vec::Vectorized<S> exp_parts(const at::vec::Vectorized<S>& hi, const at::vec::Vectorized<S>& lo) {
  return exp(hi) * (at::vec::Vectorized<S>(S(1)) + lo);
}

#if defined(CPU_CAPABILITY_AVX512) || defined(CPU_CAPABILITY_AVX2)
template <>
ACTOPS_INLINE SquareParts<at::vec::Vectorized<float>> square_parts(const at::vec::Vectorized<float>& a) {
  const at::vec::Vectorized<float> hi = a * a;
  return {hi, at::vec::fmsub(a, a, hi)};
}

namespace detail {
// k = round(a b) of the exact product, for a b in [-254, 128] (NaN passes
// into k), by the magic number 1.5 2^23 + 127: a b + magic, one FMA rounded
// once, holds k + 127 in its low mantissa bits, so that it is k + magic.
// Every exp of a float vector takes its k so, so that a lane's k (and its
// result) is the same whichever exp its vector took.
constexpr float kMagic = 12583039.0f;  // 1.5 2^23 + 127
ACTOPS_INLINE at::vec::Vectorized<float> round_product_magic(const at::vec::Vectorized<float>& a, float b) {
  return at::vec::fmadd(a, at::vec::Vectorized<float>(b), at::vec::Vectorized<float>(kMagic));
}
ACTOPS_INLINE at::vec::Vectorized<float> round_product(const at::vec::Vectorized<float>& a, float b) {
  return round_product_magic(a, b) - at::vec::Vectorized<float>(kMagic);
}

// k = round(a b) and 2^k for a b in [-126, 127]: k + magic (see above)
// shifted left by 23 is 2^k. Two instructions fewer than round and convert,
// and one 2^k where the caller's range allows it.
struct RoundedPower {
  at::vec::Vectorized<float> k, power;
};
ACTOPS_INLINE RoundedPower round_for_power(const at::vec::Vectorized<float>& a, float b) {
  using V = at::vec::Vectorized<float>;
  const V j = round_product_magic(a, b);
#if defined(CPU_CAPABILITY_AVX512)
  const V power(_mm512_castsi512_ps(_mm512_slli_epi32(_mm512_castps_si512(j), 23)));
#else
  const V power(_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(j), 23)));
#endif
  return {j - V(kMagic), power};
}

// exp(hi + lo) = 2^k exp(r), k = round((hi + lo) / ln 2), r = hi - k ln2_hi -
// k ln2_lo + lo, ln 2 in two parts (Cody-Waite): k ln2_hi has few bits, so
// hi - k ln2_hi is exact and lo (an FMA's rounding error, say) survives into
// r. exp(r) = p by exp_of_reduced on |r| <= ln(2)/2. hi is clamped
// to [-176, 89]: beyond, the result is 0 or inf anyway; NaN passes. The
// caller applies 2^k (k in [-254, 128]).
struct Reduced {
  at::vec::Vectorized<float> p, k;
};
// -ln 2 = kMinusLn2Hi + kMinusLn2Lo, the first with few bits (Cody-Waite: k
// times it is exact).
constexpr float kMinusLn2Hi = -0.693359375f;
constexpr float kMinusLn2Lo = 2.12194440e-4f;
// exp(r) on |r| <= ln(2)/2 (slightly beyond: r carries lo): 1 + r + r^2
// q(r), q of degree 4 fitted for relative error (3.5e-9 on |r| <= 1.02
// ln(2)/2). Evaluated in float it is within 1.09 ulp of exp(r), as Cephes'
// polynomial of degree 7 is (1.08), for one FMA less.
ACTOPS_INLINE at::vec::Vectorized<float> exp_of_reduced(const at::vec::Vectorized<float>& r) {
  using V = at::vec::Vectorized<float>;
  V p(1.381167909e-3f);
  p = at::vec::fmadd(p, r, V(8.370134979e-3f));
  p = at::vec::fmadd(p, r, V(4.166852683e-2f));
  p = at::vec::fmadd(p, r, V(1.666650921e-1f));
  p = at::vec::fmadd(p, r, V(4.999999404e-1f));
  return at::vec::fmadd(p, r * r, r + V(1.0f));
}

template <bool kWithLo>
ACTOPS_INLINE Reduced exp_reduced(const at::vec::Vectorized<float>& hi, const at::vec::Vectorized<float>& lo) {
  using V = at::vec::Vectorized<float>;
  const V xc = nan_min(nan_max(hi, V(-176.0f)), V(89.0f));
  const V k = round_product(kWithLo ? xc + lo : xc, 1.44269504088896341f);
  V r = at::vec::fmadd(k, V(kMinusLn2Hi), xc);
  if constexpr (kWithLo) {
    r = r + lo;
  }
  r = at::vec::fmadd(k, V(kMinusLn2Lo), r);
  return {exp_of_reduced(r), k};
}

// exp(-a^2 / 2) (see common.h) the same way, with -a^2 / 2 = -hi / 2 - lo / 2
// (a^2 = hi + lo by one FMA) entering the reduction directly: k from hi
// alone, r = -hi / 2 - k ln2_hi (exact: one FMA of exact terms), then - lo /
// 2 and - k ln2_lo. hi is clamped at 352 (the result is 0 beyond).
ACTOPS_INLINE Reduced exp_neg_half_square_reduced(const at::vec::Vectorized<float>& a) {
  using V = at::vec::Vectorized<float>;
  const V hi = nan_min(a * a, V(352.0f));
  const V lo = at::vec::fmsub(a, a, hi);
  const V k = round_product(hi, -0.721347520444481703f);  // -1 / (2 ln 2)
  V r = at::vec::fmadd(hi, V(-0.5f), k * V(kMinusLn2Hi));
  r = at::vec::fmadd(lo, V(-0.5f), r);
  r = at::vec::fmadd(k, V(kMinusLn2Lo), r);
  return {exp_of_reduced(r), k};
}

// 2^k as two powers of two, 2^k1 (k1 = floor(k / 2)) and 2^(k - k1), each a
// normal float for k in [-252, 128]; for k below, the first is 0 (its
// exponent field 0 or less: k was clamped at -254).
ACTOPS_INLINE Scaled<at::vec::Vectorized<float>> split_power_of_two(const at::vec::Vectorized<float>& k) {
  using V = at::vec::Vectorized<float>;
#if defined(CPU_CAPABILITY_AVX512)
  const V k1(_mm512_roundscale_ps(k * V(0.5f), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC));
  const V one(1.0f);
  const __mmask16 normal = _mm512_cmp_ps_mask(k1, V(-126.5f), _CMP_GT_OQ);
  return {V(_mm512_maskz_scalef_ps(normal, one, k1)), V(_mm512_scalef_ps(one, k - k1))};
#else
  const __m256i ki = _mm256_cvtps_epi32(k);
  const __m256i k1 = _mm256_srai_epi32(ki, 1);
  const __m256i k2 = _mm256_sub_epi32(ki, k1);
  const __m256i bias = _mm256_set1_epi32(127);
  // k >= -254 (the clamp): biased exponents >= 0, the field 0 giving 0.0
  return {V(_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k1, bias), 23))),
          V(_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k2, bias), 23)))};
#endif
}

ACTOPS_INLINE at::vec::Vectorized<float> with_power_of_two(const Reduced& e) {
#if defined(CPU_CAPABILITY_AVX512)
  return at::vec::Vectorized<float>(_mm512_scalef_ps(e.p, e.k));
#else
  const auto s = split_power_of_two(e.k);
  return e.p * s.value * s.scale;
#endif
}
}  // namespace detail

// exp(z) as value * scale (see Scaled in common.h) at the price of exp: the
// 2^k that exp multiplies in anyway, in two factors. value is normal (or 0
// where exp(z) times any float underflows), scale a power of two.
ACTOPS_INLINE Scaled<at::vec::Vectorized<float>> exp_split(const at::vec::Vectorized<float>& z) {
  const auto e = detail::exp_reduced<false>(z, z);
  const auto s = detail::split_power_of_two(e.k);
  return {e.p * s.value, s.scale};
}
template <>
struct has_split_exp<at::vec::Vectorized<float>> : std::true_type {};

// exp(z) for z in [-64, 88] (NaN passes; larger z are clamped at 88): the
// formulas' fast path (FastExp in ops/math/exp_policy.h), for vectors with every lane
// above DeepExp::below. The same reduction and polynomial as exp, with k
// rounded by the magic number and one 2^k (see detail::round_for_power).
ACTOPS_INLINE at::vec::Vectorized<float> exp_fast(const at::vec::Vectorized<float>& z) {
  using V = at::vec::Vectorized<float>;
  const V zc = nan_min(z, V(88.0f));
  const auto k = detail::round_for_power(zc, 1.44269504088896341f);
  V r = at::vec::fmadd(k.k, V(detail::kMinusLn2Hi), zc);
  r = at::vec::fmadd(k.k, V(detail::kMinusLn2Lo), r);
  return detail::exp_of_reduced(r) * k.power;
}
template <>
struct has_fast_exp<at::vec::Vectorized<float>> : std::true_type {};

// The same for double: exp(z) = 2^k exp(r), r = z - k ln 2 with ln 2 in two
// parts (fdlibm's: k ln2_hi is exact), exp(r) by its Taylor polynomial of
// degree 13 on |r| <= ln(2)/2 (truncation 4e-18), 2^k as 2^k1 (k1 = floor(k /
// 2)) times 2^(k - k1). z is clamped to [-1418, 709.79]: k >= -2046, where
// 2^k1 is 0 (exponent field 0) below k = -2044, so that value is normal or 0.
// Within 1 ulp of exp(z) over [-1500, 720] (value * scale rounded once).
ACTOPS_INLINE Scaled<at::vec::Vectorized<double>> exp_split(const at::vec::Vectorized<double>& z) {
  using V = at::vec::Vectorized<double>;
  static constexpr double kInverseFactorials[] = {1.0 / 6227020800.0,
                                                  1.0 / 479001600.0,
                                                  1.0 / 39916800.0,
                                                  1.0 / 3628800.0,
                                                  1.0 / 362880.0,
                                                  1.0 / 40320.0,
                                                  1.0 / 5040.0,
                                                  1.0 / 720.0,
                                                  1.0 / 120.0,
                                                  1.0 / 24.0,
                                                  1.0 / 6.0,
                                                  0.5,
                                                  1.0,
                                                  1.0};
  const V xc = nan_min(nan_max(z, V(-1418.0)), V(709.79));
  const V k = (xc * V(1.4426950408889634)).round();
  const V r = at::vec::fmadd(k, V(-1.90821492927058770002e-10), xc - k * V(6.93147180369123816490e-01));
  V p(kInverseFactorials[0]);
  for (size_t i = 1; i < sizeof(kInverseFactorials) / sizeof(double); ++i) {
    p = at::vec::fmadd(p, r, V(kInverseFactorials[i]));
  }
#if defined(CPU_CAPABILITY_AVX512)
  const V k1(_mm512_roundscale_pd(k * V(0.5), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC));
  const V one(1.0);
  const __mmask8 normal = _mm512_cmp_pd_mask(k1, V(-1022.5), _CMP_GT_OQ);
  return {p * V(_mm512_maskz_scalef_pd(normal, one, k1)), V(_mm512_scalef_pd(one, k - k1))};
#else
  const __m128i k32 = _mm256_cvtpd_epi32(k);
  const __m128i k1 = _mm_srai_epi32(k32, 1);
  const __m128i k2 = _mm_sub_epi32(k32, k1);
  const __m256i bias = _mm256_set1_epi64x(1023);
  const V s1(_mm256_castsi256_pd(_mm256_slli_epi64(_mm256_add_epi64(_mm256_cvtepi32_epi64(k1), bias), 52)));
  const V s2(_mm256_castsi256_pd(_mm256_slli_epi64(_mm256_add_epi64(_mm256_cvtepi32_epi64(k2), bias), 52)));
  return {p * s1, s2};
#endif
}
template <>
struct has_split_exp<at::vec::Vectorized<double>> : std::true_type {};

// exp: SLEEF's, correct to 1 ulp, except for float on AVX2 and AVX-512,
// where an inline version of the same accuracy avoids a library call per
// vector (the activations are exp-bound once their data is in cache).
template <>
ACTOPS_INLINE at::vec::Vectorized<float> exp(const at::vec::Vectorized<float>& x) {
  return detail::with_power_of_two(detail::exp_reduced<false>(x, x));
}
template <>
ACTOPS_INLINE at::vec::Vectorized<float> exp_parts(const at::vec::Vectorized<float>& hi,
                                                   const at::vec::Vectorized<float>& lo) {
  return detail::with_power_of_two(detail::exp_reduced<true>(hi, lo));
}
// exp(-a^2 / 2) for a^2 <= kShallowSquare (common.h; |a| <= 11.3, every lane
// of ordinary data): k >= -93, one 2^k.
ACTOPS_INLINE at::vec::Vectorized<float> exp_neg_half_square_shallow(const at::vec::Vectorized<float>& a) {
  using V = at::vec::Vectorized<float>;
  const V hi = a * a;
  const V lo = at::vec::fmsub(a, a, hi);
  const auto k = detail::round_for_power(hi, -0.721347520444481703f);  // -1 / (2 ln 2)
  V r = at::vec::fmadd(hi, V(-0.5f), k.k * V(detail::kMinusLn2Hi));
  r = at::vec::fmadd(lo, V(-0.5f), r);
  r = at::vec::fmadd(k.k, V(detail::kMinusLn2Lo), r);
  return detail::exp_of_reduced(r) * k.power;
}
// Whether every lane's a^2 is at most kShallowSquare, the shallow form's
// range (every vector of ordinary data).
ACTOPS_INLINE bool shallow_square(const at::vec::Vectorized<float>& a) {
  return !ACTOPS_UNLIKELY(any(a * a > at::vec::Vectorized<float>(kShallowSquare)));
}
// (an overload, preferred to the template in common.h): the shallow form for
// a vector whose every a^2 allows it, else the clamped reduction and 2^k in
// two parts.
ACTOPS_INLINE at::vec::Vectorized<float> exp_neg_half_square(const at::vec::Vectorized<float>& a) {
  if (!shallow_square(a)) {
    return detail::with_power_of_two(detail::exp_neg_half_square_reduced(a));
  }
  return exp_neg_half_square_shallow(a);
}
#endif

template <typename S>
ACTOPS_INLINE at::vec::Vectorized<S> erfc(const at::vec::Vectorized<S>& x) {
  return x.erfc();
}

template <typename S>
ACTOPS_INLINE at::vec::Vectorized<S> abs(const at::vec::Vectorized<S>& x) {
  return x.abs();
}

template <typename S>
ACTOPS_INLINE at::vec::Vectorized<S> negative_abs(const at::vec::Vectorized<S>& x) {
  return x | at::vec::Vectorized<S>(S(-0.0));
}

}  // namespace ACTOPS_MATH_NS
}  // namespace actops::math
