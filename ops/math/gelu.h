// gelu(x) = x Phi(x), exact (erf) and tanh-approximated, with their first
// two derivatives; written once for the scalar, vectorized and CUDA paths.
#pragma once

#include "ops/math/common.h"

namespace actops::math {
inline namespace ACTOPS_MATH_NS {

// x Phi(x) = x erfc(-x / sqrt 2) / 2: erfc keeps the negative tail's relative
// accuracy where 1 + erf(x / sqrt 2) would cancel (gelu(-10) = -7.6e-23).
// phi(x) is 0 beyond |x| = 40 in every dtype, so the density terms use x
// clamped there: no x^2 overflow, no inf * 0.
struct GeluErf {
  template <typename T>
  C10_HOST_DEVICE static T density(T xc) {
    return c<T>(0.3989422804014327) * exp(c<T>(-0.5) * xc * xc);
  }

  template <typename T>
  C10_HOST_DEVICE T forward(T x) const {
    return times_vanishing(x, c<T>(0.5) * erfc(c<T>(-0.7071067811865476) * x));
  }

  template <typename T>
  C10_HOST_DEVICE T derivative(T x) const {
    const T xc = clamp(x, c<T>(-40), c<T>(40));
    return c<T>(0.5) * erfc(c<T>(-0.7071067811865476) * x) + xc * density(xc);
  }

  template <typename T>
  C10_HOST_DEVICE T second_derivative(T x) const {
    const T xc = clamp(x, c<T>(-40), c<T>(40));
    return density(xc) * (c<T>(2) - xc * xc);
  }
};

// 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), computed as
// x sigma(2u): 1 + tanh(u) = 2 sigma(2u) has no cancellation in the tail.
// Past |x| = 40, sigma(2u) is exactly 0 or 1, so the derivatives use x
// clamped there and u^3 cannot overflow.
struct GeluTanh {
  template <typename T>
  C10_HOST_DEVICE static T u(T x) {
    return c<T>(0.7978845608028654) * (x + c<T>(0.044715) * x * x * x);
  }
  template <typename T>
  C10_HOST_DEVICE static T du(T x) {
    return c<T>(0.7978845608028654) * (c<T>(1) + c<T>(3 * 0.044715) * x * x);
  }

  template <typename T>
  C10_HOST_DEVICE T forward(T x) const {
    const T xc = clamp(x, c<T>(-40), c<T>(40));
    return times_vanishing(x, sigmoid(c<T>(2) * u(xc)));
  }

  // s + 2 x k u'
  template <typename T>
  C10_HOST_DEVICE T derivative(T x) const {
    const T xc = clamp(x, c<T>(-40), c<T>(40));
    const auto p = sigmoid_parts(c<T>(2) * u(xc));
    return p.s + c<T>(2) * xc * p.k * du(xc);
  }

  // 4 k u' + 2 x k (2 o u'^2 + u'')
  template <typename T>
  C10_HOST_DEVICE T second_derivative(T x) const {
    const T xc = clamp(x, c<T>(-40), c<T>(40));
    const auto p = sigmoid_parts(c<T>(2) * u(xc));
    const T d1 = du(xc);
    const T d2 = c<T>(0.7978845608028654 * 6 * 0.044715) * xc;
    return c<T>(4) * p.k * d1 + c<T>(2) * xc * p.k * (c<T>(2) * p.o * d1 * d1 + d2);
  }
};

}  // namespace ACTOPS_MATH_NS
}  // namespace actops::math
