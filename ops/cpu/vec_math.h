// Vectorized<S> overloads of the helpers in ops/math/common.h, so that every
// formula in ops/math/ also compiles for SIMD vectors. Included only by the
// per-instruction-set kernel files (ops/cpu/*_kernel.cpp).
#pragma once

#include <ATen/cpu/vec/vec.h>

#include "ops/math/common.h"

namespace actops::math {
inline namespace ACTOPS_MATH_NS {

template <typename S>
struct scalar_of<at::vec::Vectorized<S>> {
  using type = S;
};

// `cond` is a comparison result: all bits set in the lanes where it holds.
template <typename S>
inline at::vec::Vectorized<S> where(
    const at::vec::Vectorized<S>& cond,
    const at::vec::Vectorized<S>& a,
    const at::vec::Vectorized<S>& b) {
  return at::vec::Vectorized<S>::blendv(b, a, cond);
}

// nan_min(x, bound) / nan_max(x, bound): NaN in x passes through; the second
// operand is a bound and never NaN, which lets AVX2/AVX-512 use one min/max
// instruction with the operands ordered so that a NaN x is what it returns.
template <typename S>
inline at::vec::Vectorized<S> nan_min(const at::vec::Vectorized<S>& a, const at::vec::Vectorized<S>& b) {
  return at::vec::minimum(a, b);
}
template <typename S>
inline at::vec::Vectorized<S> nan_max(const at::vec::Vectorized<S>& a, const at::vec::Vectorized<S>& b) {
  return at::vec::maximum(a, b);
}

#if defined(CPU_CAPABILITY_AVX512)
template <>
inline at::vec::Vectorized<float> nan_min(const at::vec::Vectorized<float>& a, const at::vec::Vectorized<float>& b) {
  return _mm512_min_ps(b, a);
}
template <>
inline at::vec::Vectorized<float> nan_max(const at::vec::Vectorized<float>& a, const at::vec::Vectorized<float>& b) {
  return _mm512_max_ps(b, a);
}
template <>
inline at::vec::Vectorized<double> nan_min(const at::vec::Vectorized<double>& a, const at::vec::Vectorized<double>& b) {
  return _mm512_min_pd(b, a);
}
template <>
inline at::vec::Vectorized<double> nan_max(const at::vec::Vectorized<double>& a, const at::vec::Vectorized<double>& b) {
  return _mm512_max_pd(b, a);
}
#elif defined(CPU_CAPABILITY_AVX2)
template <>
inline at::vec::Vectorized<float> nan_min(const at::vec::Vectorized<float>& a, const at::vec::Vectorized<float>& b) {
  return _mm256_min_ps(b, a);
}
template <>
inline at::vec::Vectorized<float> nan_max(const at::vec::Vectorized<float>& a, const at::vec::Vectorized<float>& b) {
  return _mm256_max_ps(b, a);
}
template <>
inline at::vec::Vectorized<double> nan_min(const at::vec::Vectorized<double>& a, const at::vec::Vectorized<double>& b) {
  return _mm256_min_pd(b, a);
}
template <>
inline at::vec::Vectorized<double> nan_max(const at::vec::Vectorized<double>& a, const at::vec::Vectorized<double>& b) {
  return _mm256_max_pd(b, a);
}
#endif

// exp: SLEEF's, correct to 1 ulp, except for float on AVX2 and AVX-512,
// where an inline version of the same accuracy avoids a library call per
// vector (the activations are exp-bound once their data is in cache).
template <typename S>
inline at::vec::Vectorized<S> exp(const at::vec::Vectorized<S>& x) {
  return x.exp();
}

#if defined(CPU_CAPABILITY_AVX512) || defined(CPU_CAPABILITY_AVX2)
// exp(x) = 2^k exp(r), k = round(x / ln 2), r = x - k ln 2 in two steps
// (Cody-Waite), exp(r) by Cephes' expf polynomial on |r| <= ln(2)/2. x is
// clamped to [-150, 89]: beyond, the result is 0 or inf anyway; NaN passes.
template <>
inline at::vec::Vectorized<float> exp(const at::vec::Vectorized<float>& x) {
  using V = at::vec::Vectorized<float>;
  const V xc = nan_min(nan_max(x, V(-150.0f)), V(89.0f));
  const V k = (xc * V(1.44269504088896341f)).round();
  V r = at::vec::fmadd(k, V(-0.693359375f), xc);
  r = at::vec::fmadd(k, V(2.12194440e-4f), r);
  V p(1.9875691500e-4f);
  p = at::vec::fmadd(p, r, V(1.3981999507e-3f));
  p = at::vec::fmadd(p, r, V(8.3334519073e-3f));
  p = at::vec::fmadd(p, r, V(4.1665795894e-2f));
  p = at::vec::fmadd(p, r, V(1.6666665459e-1f));
  p = at::vec::fmadd(p, r, V(5.0000001201e-1f));
  p = at::vec::fmadd(p, r * r, r + V(1.0f));
#if defined(CPU_CAPABILITY_AVX512)
  return V(_mm512_scalef_ps(p, k));
#else
  // 2^k as two powers of two, each a normal float for k in [-217, 128]
  const __m256i ki = _mm256_cvtps_epi32(k);
  const __m256i k1 = _mm256_srai_epi32(ki, 1);
  const __m256i k2 = _mm256_sub_epi32(ki, k1);
  const __m256i bias = _mm256_set1_epi32(127);
  const V s1(_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k1, bias), 23)));
  const V s2(_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k2, bias), 23)));
  return p * s1 * s2;
#endif
}
#endif

template <typename S>
inline at::vec::Vectorized<S> erfc(const at::vec::Vectorized<S>& x) {
  return x.erfc();
}

#if defined(CPU_CAPABILITY_AVX512) || defined(CPU_CAPABILITY_AVX2)
namespace detail {
template <size_t N>
inline at::vec::Vectorized<float> horner(const at::vec::Vectorized<float>& x, const float (&c)[N]) {
  at::vec::Vectorized<float> p(c[0]);
  for (size_t i = 1; i < N; ++i) {
    p = at::vec::fmadd(p, x, at::vec::Vectorized<float>(c[i]));
  }
  return p;
}
}  // namespace detail

// erfc for float, inline: SLEEF's is a library call and four times the cost
// of the whole GELU. Relative error within a few ulp (the tests bound it):
//   |x| < 1:  1 - x P(x^2), erf's odd series fitted on [0, 1];
//   |x| >= 1: exp(-x^2) / |x| * g(1/x^2), g = x erfcx(x) fitted in two
//             pieces, |x| in [1, 2] and [2, 20], each in a centred variable;
//             erfc(-|x|) = 2 - erfc(|x|). |x| is clamped at 20, where erfc
//             is 0 in float; NaN passes.
// Coefficients: relative-error least squares on Chebyshev nodes in float64.
template <>
inline at::vec::Vectorized<float> erfc(const at::vec::Vectorized<float>& x) {
  using V = at::vec::Vectorized<float>;
  static constexpr float kErf[] = {7.724187632e-05f, -7.970079700e-04f, 5.183622447e-03f, -2.685122248e-02f,
                                   1.128351866e-01f, -3.761261913e-01f, 1.128379164e+00f};
  static constexpr float kNear[] = {2.211057166e-02f, -2.201452436e-02f, 1.668921221e-02f,
                                    -1.945492003e-02f, 2.466866504e-02f, -3.322456517e-02f,
                                    5.184056158e-02f, -1.058254780e-01f, 4.613544813e-01f};  // u - 0.625
  static constexpr float kFar[] = {3.222521392e+01f, -1.044767268e+01f, 2.748118023e+00f,
                                   -1.174549083e+00f, 5.633262204e-01f, -3.057238359e-01f,
                                   2.082002088e-01f, -2.079167093e-01f, 5.338070165e-01f};  // u - 0.12625
  const V a = nan_min(x.abs(), V(20.0f));
  const V s = a * a;
  const V small = V(1.0f) - x * detail::horner(s, kErf);
  const V u = V(1.0f) / nan_max(s, V(1.0f));
  const V g = where(u >= V(0.25f), detail::horner(u - V(0.625f), kNear), detail::horner(u - V(0.12625f), kFar));
  const V tail = exp(V(0.0f) - s) * (a * u) * g;
  return where(a < V(1.0f), small, where(x < V(0.0f), V(2.0f) - tail, tail));
}
#endif

template <typename S>
inline at::vec::Vectorized<S> abs(const at::vec::Vectorized<S>& x) {
  return x.abs();
}

}  // namespace ACTOPS_MATH_NS
}  // namespace actops::math
