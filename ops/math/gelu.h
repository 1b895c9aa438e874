// gelu(x) = x Phi(x), exact (erf) and tanh-approximated, with their first
// two derivatives; written once for the scalar, vectorized and CUDA paths.
#pragma once

#include <c10/util/Exception.h>
#include <c10/util/string_view.h>

#include <type_traits>

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

// x Phi(x) with Phi(x) = erfc(-x / sqrt 2) / 2, exact (erf) form. Phi is
// taken from the tail side, Phi(-|x|), which keeps the negative tail's
// relative accuracy where 1 + erf(x / sqrt 2) would cancel (gelu(-10) =
// -7.6e-23); phi(x) is 0 beyond |x| = 40 in every dtype, so the density
// terms use x clamped there (no x^2 overflow, no inf * 0).
//
// float: one exp for Phi and phi together, over the whole range:
//   Phi(-|x|) = s(x) e(x),  phi(x) = e(x) / sqrt(2 pi),  e(x) = exp(-x^2 / 2),
//   s(x) = t Q(t) / 2,  t = 1 / (1 + 0.3 |x|),
// Q(t) = erfcx(|x| / sqrt 2) / t a degree-9 polynomial in t (relative error
// 3.5e-9 on |x| <= 15, where e underflows in float). x^2 is split into hi +
// lo so that e keeps its relative accuracy (x^2 rounded alone costs x^2 / 2
// ulps: 67 at x = -11.6), and e is multiplied in last so that a subnormal e
// is rounded once. double keeps erfc, which is correct to an ulp.
struct GeluErf {
  static constexpr double kT = 0.3;           // t = 1 / (1 + kT |x|)
  static constexpr double kTMid = 0.5909090909090909;  // Q is fitted in t - kTMid
  static constexpr float kQ[] = {-4.125729576e-02f, 5.515645724e-03f, 8.811914176e-02f, -2.072600648e-02f,
                                 -1.811145395e-01f, -1.938387007e-02f, 4.515666068e-01f, 8.151851892e-01f,
                                 7.953400612e-01f, 5.098472834e-01f};

  template <typename T>
  static constexpr bool kFloat = std::is_same_v<scalar_of_t<T>, float>;

  // e(x) = exp(-x^2 / 2) for x = |x| clamped (x^2 in two parts).
  template <typename T>
  C10_HOST_DEVICE static T gauss(const SquareParts<T>& sq) {
    return exp_parts(c<T>(-0.5) * sq.hi, c<T>(-0.5) * sq.lo);
  }
  // s(x) of the float form, for a = |x| clamped
  template <typename T>
  C10_HOST_DEVICE static T tail_factor(T a) {
    const T t = c<T>(1) / mul_add(a, c<T>(kT), c<T>(1));
    return c<T>(0.5) * t * polynomial(t - c<T>(kTMid), kQ);
  }
  template <typename T>
  C10_HOST_DEVICE static T density(T xc) {
    return c<T>(gelu_constants::kInvSqrt2Pi) * gauss(square_parts(xc));
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
    if constexpr (kFloat<T>) {
      const T a = nan_min(abs(x), c<T>(15));
      // x Phi(-|x|), finite so that an infinite x meets e = 0 as 0
      const T tail = (finite(x) * tail_factor(a)) * gauss(square_parts(a));
      return where(x < c<T>(0), tail, x - tail);
    } else {
      return times_vanishing(x, cdf(x));
    }
  }

  // Phi(x) + x phi(x)
  template <typename T>
  C10_HOST_DEVICE T derivative(T x) const {
    if constexpr (kFloat<T>) {
      const T a = nan_min(abs(x), c<T>(15));
      const T s = tail_factor(a);
      const T e = gauss(square_parts(a));
      const T xk = clamp(x, c<T>(-15), c<T>(15)) * c<T>(gelu_constants::kInvSqrt2Pi);
      return where(x < c<T>(0), (s + xk) * e, c<T>(1) + (xk - s) * e);
    } else {
      const T xc = clamped(x);
      return cdf(x) + xc * density(xc);
    }
  }

  // phi(x) (2 - x^2)
  template <typename T>
  C10_HOST_DEVICE T second_derivative(T x) const {
    const T xc = clamped(x);
    const auto sq = square_parts(xc);
    return c<T>(gelu_constants::kInvSqrt2Pi) * gauss(sq) * ((c<T>(2) - sq.hi) - sq.lo);
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
    return unscaled(times_sigmoid(x, c<T>(2) * u(GeluErf::clamped(x))));
  }

  // s + 2 x k u'
  template <typename T>
  C10_HOST_DEVICE T derivative(T x) const {
    const T xc = GeluErf::clamped(x);
    const auto p = sigmoid_parts(c<T>(2) * u(xc));
    return (p.s + c<T>(2) * xc * p.k * du(xc)) * p.scale;
  }

  // 4 k u' + 2 x k (2 o u'^2 + u'')
  template <typename T>
  C10_HOST_DEVICE T second_derivative(T x) const {
    const T xc = GeluErf::clamped(x);
    const auto p = sigmoid_parts(c<T>(2) * u(xc));
    const T d1 = du(xc);
    return (c<T>(4) * p.k * d1 + c<T>(2) * xc * p.k * (c<T>(2) * p.o * d1 * d1 + d2u(xc))) * p.scale;
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
