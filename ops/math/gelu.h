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
constexpr double kClamp = 40.0;                      // |x| past which phi(x) and sigma(2u) are 0 or 1 in every dtype
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
// 3.5e-9 on |x| <= 15, where e underflows in float; 3.3e-8 with its float
// coefficients on |x| <= 20, where a gated unit's gelu(x) v with a large v
// is still a float). x^2 is split into hi +
// lo so that e keeps its relative accuracy (x^2 rounded alone costs x^2 / 2
// ulps: 67 at x = -11.6), and e is multiplied in last so that a subnormal e
// is rounded once. double keeps erfc, which is correct to an ulp.
struct GeluErf {
  static constexpr double kT = 0.3;                    // t = 1 / (1 + kT |x|)
  static constexpr double kTMid = 0.5909090909090909;  // Q is fitted in t - kTMid
  // Q / 2 (the 1/2 of Phi = erfc / 2 folded in)
  struct HalfQ {
    static constexpr float k[] = {-2.062864788e-02f, 2.757822862e-03f,  4.405957088e-02f, -1.036300324e-02f,
                                  -9.055726975e-02f, -9.691935033e-03f, 2.257833034e-01f, 4.075925946e-01f,
                                  3.976700306e-01f,  2.549236417e-01f};
  };

  template <typename T>
  static constexpr bool kFloat = std::is_same_v<scalar_of_t<T>, float>;

  // e(x) = exp(-x^2 / 2) (x^2 in two parts), plain and scaled (see Scaled).
  template <typename T>
  C10_HOST_DEVICE static ACTOPS_INLINE T gauss(T x) {
    return exp_neg_half_square(x);
  }
  template <typename T>
  C10_HOST_DEVICE static ACTOPS_INLINE Scaled<T> gauss_scaled(const SquareParts<T>& sq) {
    return exp_parts_scaled(c<T>(-0.5) * sq.hi, c<T>(-0.5) * sq.lo);
  }
  // double, x < -37: Phi(x) is subnormal, so it comes from the asymptotic
  // series Phi(x) = phi(x) / |x| S(1 / x^2), S(w) = 1 - w + 3w^2 - 15w^3 ...
  // (eight terms: below 1e-17 at |x| = 37) with phi scaled: returns
  // (S / |x|, phi scaled), and the results are rounded once from them.
  static constexpr double kDeepDouble = -37.0;
  // past |x| = 60, phi(x) v is 0 in double even for v = DBL_MAX
  static constexpr double kDeepTimesClamp = 60.0;
  struct Series {
    static constexpr float k[] = {2027025.0f, -135135.0f, 10395.0f, -945.0f, 105.0f, -15.0f, 3.0f, -1.0f, 1.0f};
  };
  template <typename T>
  C10_HOST_DEVICE static ACTOPS_INLINE bool deep_double(T x) {
    return !kFloat<T> && any(x < c<T>(kDeepDouble));
  }
  template <typename T>
  C10_HOST_DEVICE static ACTOPS_INLINE Scaled<T> deep_density(T a) {
    const auto e = gauss_scaled(square_parts(a));
    return {c<T>(gelu_constants::kInvSqrt2Pi) * e.value, e.scale};
  }
  template <typename T>
  C10_HOST_DEVICE static ACTOPS_INLINE T tail_series(T a) {
    return polynomial<Series>(c<T>(1) / (a * a)) / a;
  }
  // s(x) of the float form, for a = |x| clamped
  template <typename T>
  C10_HOST_DEVICE static ACTOPS_INLINE T tail_factor(T a) {
    const T t = c<T>(1) / mul_add(a, c<T>(kT), c<T>(1));
    return t * polynomial<HalfQ>(t - c<T>(kTMid));
  }
  template <typename T>
  C10_HOST_DEVICE static ACTOPS_INLINE T density(T xc) {
    return c<T>(gelu_constants::kInvSqrt2Pi) * gauss(xc);
  }
  template <typename T>
  C10_HOST_DEVICE static ACTOPS_INLINE T cdf(T x) {
    return c<T>(0.5) * erfc(c<T>(-gelu_constants::kSqrtHalf) * x);
  }
  template <typename T>
  C10_HOST_DEVICE static ACTOPS_INLINE T clamped(T x) {
    return clamp(x, c<T>(-gelu_constants::kClamp), c<T>(gelu_constants::kClamp));
  }

  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T forward(T x) const {
    if constexpr (kFloat<T>) {
      // x Phi(x) = max(x, 0) - |x| Phi(-|x|), |x| clamped where e = 0
      const T a = nan_min(abs(x), c<T>(15));
      return neg_mul_add(a * tail_factor(a), gauss(a), nan_max(x, c<T>(0)));
    } else {
      const T f = times_vanishing(x, cdf(x));
      if (!deep_double(x)) {
        return f;
      }
      // x Phi(x) = -phi(x) S
      const T a = clamp(c<T>(0) - x, c<T>(0), c<T>(gelu_constants::kClamp));
      const auto phi = deep_density(a);
      return where(x < c<T>(kDeepDouble), (c<T>(0) - phi.value * (a * tail_series(a))) * phi.scale, f);
    }
  }

  // Phi(x) + x phi(x)
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T derivative(T x) const {
    if constexpr (kFloat<T>) {
      const T a = nan_min(abs(x), c<T>(15));
      const T s = tail_factor(a);
      const T e = gauss(a);
      // s + x / sqrt(2 pi) (cancelling near x = -0.75) and its difference, each rounded once
      const T xc = clamp(x, c<T>(-15), c<T>(15));
      const T k = c<T>(gelu_constants::kInvSqrt2Pi);
      return where(x < c<T>(0), mul_add(xc, k, s) * e, mul_add(mul_sub(xc, k, s), e, c<T>(1)));
    } else {
      const T xc = clamped(x);
      const T f = mul_add(xc, density(xc), cdf(x));
      if (!deep_double(x)) {
        return f;
      }
      // Phi(x) + x phi(x) = phi(x) (S / |x| - |x|)
      const T a = clamp(c<T>(0) - x, c<T>(0), c<T>(gelu_constants::kClamp));
      const auto phi = deep_density(a);
      return where(x < c<T>(kDeepDouble), (phi.value * (tail_series(a) - a)) * phi.scale, f);
    }
  }

  // forward(x) v and derivative(x) v for a gated unit (see gate_times): the
  // tail's exp kept scaled until v has been multiplied in. A float vector
  // whose every a^2 is shallow (shallow_square, ops/cpu/vec_math.h) needs no
  // scale, and computes one side of the selects.
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T times(T x, T v) const {
    if constexpr (kFloat<T>) {
      // exp(-a^2 / 2) is 0 past 20, scaled or not; Q holds its accuracy to 20
      // (a large v keeps gelu(x) v normal down to x = -18.7)
      const T a = nan_min(abs(x), c<T>(20));
      const T s = tail_factor(a);
      if constexpr (has_fast_exp<T>::value) {
        if (shallow_square(a)) {
          const T e = exp_neg_half_square_shallow(a);
          return where(x < c<T>(0), ((c<T>(0) - a * v) * s) * e, (x * v) * neg_mul_add(s, e, c<T>(1)));
        }
      }
      const auto e = gauss_scaled(square_parts(a));
      // a v first (a subnormal x), except where e is scaled and a large
      const T negative =
          where(e.scale == c<T>(1), ((c<T>(0) - a * v) * s) * e.value, ((c<T>(0) - a * s) * e.value) * (v * e.scale));
      return where(x < c<T>(0), negative, (x * v) * neg_mul_add(s, e.value * e.scale, c<T>(1)));
    } else {
      // x v first where |x| < 1 (a subnormal x: x Phi(x) alone would round
      // into the subnormals), else x Phi(x) first (x v could overflow)
      const T cdf_x = cdf(x);
      const T f = where(abs(x) < c<T>(1), (x * v) * cdf_x, times_vanishing(x, cdf_x) * v);
      if (!deep_double(x)) {
        return f;
      }
      const T a = clamp(c<T>(0) - x, c<T>(0), c<T>(kDeepTimesClamp));
      const auto phi = deep_density(a);
      return where(x < c<T>(kDeepDouble), (c<T>(0) - phi.value * (a * tail_series(a))) * (v * phi.scale), f);
    }
  }
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T derivative_times(T x, T v) const {
    if constexpr (kFloat<T>) {
      const T a = nan_min(abs(x), c<T>(20));
      const T s = tail_factor(a);
      if constexpr (has_fast_exp<T>::value) {
        if (shallow_square(a)) {
          const T e = exp_neg_half_square_shallow(a);
          const T k = c<T>(gelu_constants::kInvSqrt2Pi);
          return where(x < c<T>(0), (mul_add(x, k, s) * e) * v, v * mul_add(mul_sub(x, k, s), e, c<T>(1)));
        }
      }
      const auto e = gauss_scaled(square_parts(a));
      const T xc = clamp(x, c<T>(-20), c<T>(20));
      const T k = c<T>(gelu_constants::kInvSqrt2Pi);
      return where(x < c<T>(0), (mul_add(xc, k, s) * e.value) * (v * e.scale),
                   v * mul_add(mul_sub(xc, k, s), e.value * e.scale, c<T>(1)));
    } else {
      const T xc = clamped(x);
      const T f = mul_add(xc, density(xc), cdf(x)) * v;
      if (!deep_double(x)) {
        return f;
      }
      const T a = clamp(c<T>(0) - x, c<T>(0), c<T>(kDeepTimesClamp));
      const auto phi = deep_density(a);
      return where(x < c<T>(kDeepDouble), (phi.value * (tail_series(a) - a)) * (v * phi.scale), f);
    }
  }

  // phi(x) (2 - x^2)
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T second_derivative(T x) const {
    const T xc = clamped(x);
    const auto sq = square_parts(xc);
    const auto e = gauss_scaled(sq);
    return (c<T>(gelu_constants::kInvSqrt2Pi) * e.value * ((c<T>(2) - sq.hi) - sq.lo)) * e.scale;
  }
};

// 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), computed as
// x sigma(2u): 1 + tanh(u) = 2 sigma(2u) has no cancellation in the tail.
// Past |x| = 40, sigma(2u) is exactly 0 or 1, so the derivatives use x
// clamped there and u^3 cannot overflow.
struct GeluTanh {
  template <typename T>
  C10_HOST_DEVICE static ACTOPS_INLINE T u(T x) {
    return c<T>(gelu_constants::kSqrt2OverPi) * mul_add(c<T>(gelu_constants::kCubic) * x * x, x, x);
  }
  template <typename T>
  C10_HOST_DEVICE static ACTOPS_INLINE T du(T x) {
    return c<T>(gelu_constants::kSqrt2OverPi) * mul_add(c<T>(3 * gelu_constants::kCubic) * x, x, c<T>(1));
  }
  template <typename T>
  C10_HOST_DEVICE static ACTOPS_INLINE T d2u(T x) {
    return c<T>(gelu_constants::kSqrt2OverPi * 6 * gelu_constants::kCubic) * x;
  }

  // 2u = x (2 sqrt(2/pi) + 2 sqrt(2/pi) 0.044715 x^2): three instructions,
  // x unclamped (an x^2 that overflows gives 2u = +-inf, whose sigma is 0 or
  // 1 as the clamped x's is).
  template <typename T>
  C10_HOST_DEVICE static ACTOPS_INLINE T two_u(T x) {
    using namespace gelu_constants;
    return x * mul_add(x * x, c<T>(2 * kSqrt2OverPi * kCubic), c<T>(2 * kSqrt2OverPi));
  }

  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T forward(T x) const {
    return times_sigmoid(x, two_u(x));
  }

  // s + 2 x k u'
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T derivative(T x) const {
    return derivative_times(x, c<T>(1));
  }
  // forward(x) v and derivative(x) v for a gated unit (see gate_times)
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T times(T x, T v) const {
    return times_sigmoid_times(x, c<T>(2) * u(GeluErf::clamped(x)), v);
  }
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T derivative_times(T x, T v) const {
    const T xc = GeluErf::clamped(x);
    const auto p = sigmoid_parts(c<T>(2) * u(xc));
    return mul_add(c<T>(2) * xc * p.k, du(xc), p.s) * (v * p.scale);
  }

  // 4 k u' + 2 x k (2 o u'^2 + u'')
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T second_derivative(T x) const {
    const T xc = GeluErf::clamped(x);
    const auto p = sigmoid_parts(c<T>(2) * u(xc));
    const T d1 = du(xc);
    return mul_add(c<T>(2) * xc * p.k_alone, mul_add(c<T>(2) * p.o * d1, d1, d2u(xc)), c<T>(4) * p.k_alone * d1) *
           p.k_scale;
  }
};

// The op's form, chosen at run time from its `approximate` argument; kernels
// `visit` it to run the chosen form's own loop.
struct Gelu {
  bool tanh = false;

  template <typename F>
  C10_HOST_DEVICE ACTOPS_INLINE void visit(const F& f) const {
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
    TORCH_CHECK(approximate == "none" || approximate == "tanh", op, ": approximate must be 'none' or 'tanh', got '",
                approximate, "'");
    return Gelu{approximate == "tanh"};
  }
};

}  // namespace ACTOPS_MATH_NS
}  // namespace actops::math
