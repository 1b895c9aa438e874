// Snake (Ziyin et al. 2020; BigVGAN, DAC): f(x, a) = x + sin^2(a x) / a, a
// learnable frequency per channel.
//
// With t = a x, s = sin t, c = cos t and r = s / a (= x sinc t):
//   f     = x + s r                 no cancellation: r ~ x for small a, so
//                                   s^2 / a ~ a x^2 keeps its relative
//                                   accuracy (1 - cos 2t would cancel)
//   f_x   = (s + c)^2               (= 1 + sin 2t, whose zeros it keeps
//                                   better: its error shrinks with s + c)
//   f_a   = r (2 c x - r)           (x sin 2t / a - s^2 / a^2, whose two terms
//                                   are each ~x^2 for small a)
//   f_xx  = 2 a cos 2t,  f_xa = 2 x cos 2t,  cos 2t = (c - s)(c + s)
//   f_aa  = 2 a q^2 - 2 r s x^2,    q = dr/da = (c x - r) / a = x^2 (c - sinc t) / t
// q's difference cancels for small t: there (|t| < 1) (c - sinc t) / t comes
// from its series, t P(t^2), to double precision.
// At a = 0 every expression takes its limit (r = x, q = 0): f = x, f_x = 1,
// f_a = x^2, f_aa = 0 — no NaN for finite input.
#pragma once

#include "ops/math/common.h"

namespace actops::math {
inline namespace ACTOPS_MATH_NS {

// (cos t - sin t / t) / t = sum_{n>=1} (-1)^n 2n t^(2n-1) / (2n+1)!, as t P(t^2),
// to double precision for |t| < 1 (the first omitted term is 20 / 21! ~ 4e-19).
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE T snake_cos_minus_sinc_over_t(T t) {
  const T u = t * t;
  T p = c<T>(18.0 / 121645100408832000.0);             // n = 9: 18 / 19!
  p = mul_add(p, u, c<T>(-16.0 / 355687428096000.0));  // n = 8: 16 / 17!
  p = mul_add(p, u, c<T>(14.0 / 1307674368000.0));     // 14 / 15!
  p = mul_add(p, u, c<T>(-12.0 / 6227020800.0));       // 12 / 13!
  p = mul_add(p, u, c<T>(10.0 / 39916800.0));          // 10 / 11!
  p = mul_add(p, u, c<T>(-8.0 / 362880.0));            // 8 / 9!
  p = mul_add(p, u, c<T>(6.0 / 5040.0));               // 6 / 7!
  p = mul_add(p, u, c<T>(-4.0 / 120.0));               // 4 / 5!
  p = mul_add(p, u, c<T>(2.0 / 6.0));                  // 2 / 3!
  return -(t * p);
}

struct Snake {
  // sin(a x) / a, with its limit x at a = 0.
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE static T over_alpha(T s, T x, T alpha) {
    return where(alpha == c<T>(0), x, s / alpha);
  }

  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T value(T x, T alpha) const {
    const T s = sin(alpha * x);
    return mul_add(s, over_alpha(s, x, alpha), x);
  }
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE Gradient2<T> gradients(T x, T alpha) const {
    const T t = alpha * x;
    const T s = sin(t);
    const T co = cos(t);
    const T r = over_alpha(s, x, alpha);
    const T sum = s + co;
    return {sum * sum, r * mul_sub(co + co, x, r)};
  }
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE Hessian2<T> second_gradients(T x, T alpha) const {
    const T t = alpha * x;
    const T s = sin(t);
    const T co = cos(t);
    const T r = over_alpha(s, x, alpha);
    const T cos2 = (co - s) * (co + s);
    const T x2 = x * x;
    // q = dr/da: from the series where |t| < 1, else (c x - r) / a
    const T q = where(abs(t) < c<T>(1), x2 * snake_cos_minus_sinc_over_t(t), mul_sub(co, x, r) / alpha);
    const T two_alpha = alpha + alpha;
    return {two_alpha * cos2, (x + x) * cos2, mul_sub(two_alpha * q, q, (r + r) * s * x2)};
  }
};

}  // namespace ACTOPS_MATH_NS
}  // namespace actops::math
