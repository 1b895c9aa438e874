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

#include "ops/math/common.h"

namespace actops::math {
inline namespace ACTOPS_MATH_NS {

struct Mish {
  template <typename T>
  C10_HOST_DEVICE static T cut() {
    return c<T>(sizeof(scalar_of_t<T>) == sizeof(float) ? 20.0 : 40.0);
  }

  template <typename T>
  C10_HOST_DEVICE T forward(T x) const {
    const T e = exp(nan_min(x, cut<T>()));
    const T n = e * (e + c<T>(2));
    return nan_max(x, lowest<T>()) * (n / (n + c<T>(2)));
  }

  // d/dx = tanh(sp) + x sigma(x) (1 - tanh(sp)^2) = (n d + 4 x e (1 + e)) / d^2;
  // x e first: at x = -max, 4 x alone would overflow to -inf and meet e = 0.
  template <typename T>
  C10_HOST_DEVICE T derivative(T x) const {
    const T xc = clamp(x, lowest<T>(), cut<T>());
    const T e = exp(xc);
    const T n = e * (e + c<T>(2));
    const T d = n + c<T>(2);
    return (n * d + c<T>(4) * (xc * e) * (c<T>(1) + e)) / (d * d);
  }

  // d2/dx2 = 4a (2b + x (a + b - 4ab(1 + e))),  a = e / d,  b = (1 + e) / d;
  // written with a and b (both ~ 1/e for large x) so that nothing overflows.
  template <typename T>
  C10_HOST_DEVICE T second_derivative(T x) const {
    const T xc = clamp(x, lowest<T>(), cut<T>());
    const T e = exp(xc);
    const T d = e * (e + c<T>(2)) + c<T>(2);
    const T a = e / d;
    const T b = (c<T>(1) + e) / d;
    return c<T>(4) * a *
        (c<T>(2) * b + xc * (a + b - c<T>(4) * a * b * (c<T>(1) + e)));
  }
};

}  // namespace ACTOPS_MATH_NS
}  // namespace actops::math
