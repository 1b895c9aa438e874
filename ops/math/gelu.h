// gelu(x) = x Phi(x), exact (erf) and tanh-approximated, with their first
// two derivatives; written once for the scalar, vectorized and CUDA paths.
#pragma once

#include <c10/util/Exception.h>
#include <c10/util/string_view.h>

#include "ops/math/common.h"

namespace actops::math {
inline namespace ACTOPS_MATH_NS {

namespace gelu_constants {
constexpr double kSqrtHalf = 0.7071067811865476;     // 1 / sqrt(2)
constexpr double kInvSqrt2Pi = 0.3989422804014327;   // 1 / sqrt(2 pi)
constexpr double kSqrt2OverPi = 0.7978845608028654;  // sqrt(2 / pi)
constexpr double kCubic = 0.044715;                  // the tanh form's cubic term
constexpr double kClamp = 40.0;  // |x| past which phi(x) and sigma(2u) are 0 or 1 in every dtype
}  // namespace gelu_constants

// x Phi(x) = x erfc(-x / sqrt 2) / 2: erfc keeps the negative tail's relative
// accuracy where 1 + erf(x / sqrt 2) would cancel (gelu(-10) = -7.6e-23).
// phi(x) is 0 beyond |x| = 40 in every dtype, so the density terms use x
// clamped there: no x^2 overflow, no inf * 0.
struct GeluErf {
  template <typename T>
  C10_HOST_DEVICE static T density(T xc) {
    return c<T>(gelu_constants::kInvSqrt2Pi) * exp(c<T>(-0.5) * xc * xc);
  }
  template <typename T>
  C10_HOST_DEVICE static T cdf(T x) {
    return c<T>(0.5) * erfc(c<T>(-gelu_constants::kSqrtHalf) * x);
  }
  template <typename T>
  C10_HOST_DEVICE static T clamped(T x) {
    return clamp(x, c<T>(-gelu_constants::kClamp), c<T>(gelu_constants::kClamp));
  }

  template <typename T>
  C10_HOST_DEVICE T forward(T x) const {
    return times_vanishing(x, cdf(x));
  }

  template <typename T>
  C10_HOST_DEVICE T derivative(T x) const {
    const T xc = clamped(x);
    return cdf(x) + xc * density(xc);
  }

  template <typename T>
  C10_HOST_DEVICE T second_derivative(T x) const {
    const T xc = clamped(x);
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
    return c<T>(gelu_constants::kSqrt2OverPi) * (x + c<T>(gelu_constants::kCubic) * x * x * x);
  }
  template <typename T>
  C10_HOST_DEVICE static T du(T x) {
    return c<T>(gelu_constants::kSqrt2OverPi) * (c<T>(1) + c<T>(3 * gelu_constants::kCubic) * x * x);
  }
  template <typename T>
  C10_HOST_DEVICE static T d2u(T x) {
    return c<T>(gelu_constants::kSqrt2OverPi * 6 * gelu_constants::kCubic) * x;
  }

  template <typename T>
  C10_HOST_DEVICE T forward(T x) const {
    const T xc = GeluErf::clamped(x);
    return times_vanishing(x, sigmoid(c<T>(2) * u(xc)));
  }

  // s + 2 x k u'
  template <typename T>
  C10_HOST_DEVICE T derivative(T x) const {
    const T xc = GeluErf::clamped(x);
    const auto p = sigmoid_parts(c<T>(2) * u(xc));
    return p.s + c<T>(2) * xc * p.k * du(xc);
  }

  // 4 k u' + 2 x k (2 o u'^2 + u'')
  template <typename T>
  C10_HOST_DEVICE T second_derivative(T x) const {
    const T xc = GeluErf::clamped(x);
    const auto p = sigmoid_parts(c<T>(2) * u(xc));
    const T d1 = du(xc);
    return c<T>(4) * p.k * d1 + c<T>(2) * xc * p.k * (c<T>(2) * p.o * d1 * d1 + d2u(xc));
  }
};

// The op's form, chosen at run time from its `approximate` argument; kernels
// `visit` it to run the chosen form's own loop.
struct Gelu {
  bool tanh = false;

  template <typename F>
  C10_HOST_DEVICE void visit(const F& f) const {
    if (tanh) {
      f(GeluTanh{});
    } else {
      f(GeluErf{});
    }
  }
};

template <>
struct Maker<Gelu> {
  static Gelu make(const char* op, c10::string_view approximate) {
    TORCH_CHECK(
        approximate == "none" || approximate == "tanh", op, ": approximate must be 'none' or 'tanh', got '",
        approximate, "'");
    return Gelu{approximate == "tanh"};
  }
};

}  // namespace ACTOPS_MATH_NS
}  // namespace actops::math
