// mish(x) = x * tanh(softplus(x)) and its first two derivatives, written once
// for the scalar, vectorized and CUDA paths (see ops/math/common.h).
//
// With e = exp(x):  tanh(log1p(e)) = n / d,  n = e (e + 2),  d = n + 2.
// One exp per element, and no cancellation: in the negative tail n ~ 2e and
// d ~ 2, so mish(x) ~ x e keeps full relative accuracy (mish(-30) = -2.8e-12).
// The exp argument is clamped at `cut`, past which tanh(softplus(x)) rounds to
// 1 and the derivative to 1; there d^2 is still finite (e^(4 cut) < FLT_MAX for
// float's cut of 20). Inputs are clamped below at -max so that -inf gives
// (-max) * 0 = 0 rather than -inf * 0 = NaN; NaN passes through every clamp.
#pragma once

#include <type_traits>

#include "ops/math/common.h"

namespace actops::math {
inline namespace ACTOPS_MATH_NS {

struct Mish {
  template <typename T>
  C10_HOST_DEVICE static ACTOPS_INLINE T cut() {
    return c<T>(sizeof(scalar_of_t<T>) == sizeof(float) ? 20.0 : 40.0);
  }

  // Each formula takes exp as value * scale from E (see eval_exact in
  // common.h) and multiplies by scale last: below x = -64 (float) / -600
  // (double), where exp(x) is subnormal or 0, tanh(softplus(x)) = e to the
  // dtype's precision, and f = x e, f' = (1 + x) e, f'' = (2 + x) e are
  // each rounded once from a normal product.
  struct Value {
    template <typename E, typename T>
    C10_HOST_DEVICE static ACTOPS_INLINE T eval(const T& x) {
      const auto e = E::of(nan_min(x, cut<T>()));
      const T et = e.value * e.scale;
      const T d = mul_add(et, et + c<T>(2), c<T>(2));
      const T xl = E::kShallow ? x : nan_max(x, lowest<T>());  // x > -64 when shallow
      return (xl * ((e.value * (et + c<T>(2))) / d)) * e.scale;
    }
  };
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T forward(T x) const {
    return eval_exact<Value>(x, x);
  }

  // d/dx = tanh(sp) + x sigma(x) (1 - tanh(sp)^2) = e ((e + 2) d + 4 x (1 + e)) / d^2;
  // x e first: at x = -max, 4 x alone would overflow to -inf and meet e = 0.
  struct Derivative {
    template <typename E, typename T>
    C10_HOST_DEVICE static ACTOPS_INLINE T eval(const T& x) {
      const T xc = E::kShallow ? nan_min(x, cut<T>()) : clamp(x, lowest<T>(), cut<T>());
      const auto e = E::of(xc);
      const T et = e.value * e.scale;
      const T d = mul_add(et, et + c<T>(2), c<T>(2));
      const T numerator = mul_add(e.value * (et + c<T>(2)), d, c<T>(4) * (xc * e.value) * (c<T>(1) + et));
      return (numerator / (d * d)) * e.scale;
    }
  };
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T derivative(T x) const {
    return eval_exact<Derivative>(x, x);
  }

  // d2/dx2 = 4a (2b + x (a + b - 4ab(1 + e))),  a = e / d,  b = (1 + e) / d.
  // For x > 0 in m = exp(-x) (no cut: f'' ~ -8x exp(-2x) keeps its relative
  // accuracy as far as it is representable): with D = 1 + 2m + 2m^2,
  //   f'' = (4m / D^2) (2 (1 + m) + x P(m) / D) m,  P = -2 - 3m + 2m^2 + 2m^3,
  // m multiplied in last so that the product is rounded once.
  struct SecondDerivative {
    template <typename E, typename T>
    C10_HOST_DEVICE static ACTOPS_INLINE T eval(const T& x) {
      const T xc = clamp(x, lowest<T>(), c<T>(1000));
      const auto es = E::of(negative_abs(xc));  // exp(x) for x <= 0, m for x > 0
      const T e = es.value * es.scale;
      const T d = mul_add(e, e + c<T>(2), c<T>(2));
      const T a = e / d;
      const T b = (c<T>(1) + e) / d;
      const T negative =
          c<T>(4) * (es.value / d) * mul_add(xc, neg_mul_add(c<T>(4) * a * b, c<T>(1) + e, a + b), c<T>(2) * b);
      const T big_d = mul_add(c<T>(2) * e, e + c<T>(1), c<T>(1));
      const T p = mul_add(mul_add(mul_add(c<T>(2), e, c<T>(2)), e, c<T>(-3)), e, c<T>(-2));
      const T positive = ((c<T>(4) * e / (big_d * big_d)) * (c<T>(2) * (c<T>(1) + e) + xc * p / big_d)) * es.value;
      return where(x > c<T>(0), positive, negative) * es.scale;
    }
  };
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T second_derivative(T x) const {
    return eval_exact<SecondDerivative>(negative_abs(x), x);
  }
};

}  // namespace ACTOPS_MATH_NS
}  // namespace actops::math
