// swish(x; beta) = x sigma(beta x) and its derivatives in x and beta,
// written once for the scalar, vectorized and CUDA paths.
//
// With z = beta x, s = sigma(z), k = s (1 - s), o = 1 - 2s (sigmoid_parts):
//   f_x  = s + z k              f_beta = x^2 k
//   f_xx = beta k (2 + z o)     f_xbeta = x k (2 + z o)     f_betabeta = x^3 k o
// Products are ordered so that a factor that underflows to 0 meets only
// finite ones (inputs pass through finite()).
#pragma once

#include "ops/math/common.h"

namespace actops::math {
inline namespace ACTOPS_MATH_NS {

// beta x, with the limits 0 sigma(.) = 0 and x sigma(0) = x / 2 where the
// product is 0 * inf (swish(0; inf) = 0, swish(inf; 0) = inf); a NaN beta
// stays NaN (x sigma(NaN x) is NaN for every x, as the composite gives).
// Carried in two parts (Sum2: hi and its rounding error): z = beta x
// rounded alone would cost |z| / 2 ulps in the negative tail.
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE Sum2<T> beta_times(T x, T beta) {
  const auto limit = ((x == c<T>(0)) | (beta == c<T>(0))) & (beta == beta);
  const T hi = where(limit, c<T>(0), beta * x);
  return {hi, where(limit, c<T>(0), product_error(beta, x, hi))};
}

// x sigma(beta x), scaled (see Scaled in common.h): a gated unit multiplies
// it by its up value before the scale, so that gate(g) u keeps its accuracy
// where gate(g) alone is subnormal.
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE T swish_value(T x, T beta) {
  return times_sigmoid(x, beta_times(x, beta));
}

// z: beta x, a T (beta = 1) or its two parts (Sum2)
template <typename T>
struct SwishGradients {
  T x, beta;
};
template <typename T, typename Z>
C10_HOST_DEVICE ACTOPS_INLINE SwishGradients<T> swish_gradients(T x, const Z& beta_x) {
  const T xf = finite(x);
  const auto z = finite(beta_x);
  const auto p = sigmoid_parts(z);
  return {mul_add(hi_of(z), p.k, p.s) * p.scale, xf * (xf * p.k_alone) * p.k_scale};
}

template <typename T>
struct SwishSecondGradients {
  T xx, xbeta, betabeta;
};
template <typename T, typename Z>
C10_HOST_DEVICE ACTOPS_INLINE SwishSecondGradients<T> swish_second_gradients(T x, T beta, const Z& beta_x) {
  const T xf = finite(x);
  const auto z = finite(beta_x);
  const auto p = sigmoid_parts(z);
  const T shape = mul_add(hi_of(z), p.o, c<T>(2));  // bounded: |z o| <= |z|, and k ~ e^-|z|
  const T xk = xf * p.k_alone;
  return {beta * p.k_alone * shape * p.k_scale, xk * shape * p.k_scale, xf * (xf * (xk * p.o)) * p.k_scale};
}

// swish with a fixed beta, for one kind of beta (see Swish): kUnit for
// beta = 1 (SiLU: z = x), else any beta.
template <bool kUnit>
struct SwishOf {
  double beta = 1.0;

  // beta x: x itself for beta = 1; else in two parts, beta's own rounding to
  // T's scalar (beta - a) included. A finite, nonzero beta (the usual case)
  // needs no guard.
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE auto beta_x(T x) const {
    if constexpr (kUnit) {
      return x;
    } else {
      if (beta != beta) {  // NaN: NaN everywhere, as x sigma(NaN x)
        return Sum2<T>{c<T>(beta), c<T>(0)};
      }
      if (beta == 0) {
        return Sum2<T>{c<T>(0), c<T>(0)};
      }
      if (beta - beta != 0) {  // infinite
        return Sum2<T>{where(x == c<T>(0), c<T>(0), c<T>(beta) * x), c<T>(0)};
      }
      // beta = a + b, a rounded to T's scalar: beta x = a x + b x
      const auto a = static_cast<scalar_of_t<T>>(beta);
      const double b = beta - static_cast<double>(a);
      const T hi = T(a) * x;
      const T lo = product_error(T(a), x, hi);
      return Sum2<T>{hi, b == 0 ? lo : mul_add(c<T>(b), x, lo)};
    }
  }
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T forward(T x) const {
    return times_sigmoid(x, beta_x(x));
  }
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T derivative(T x) const {
    return swish_gradients(x, beta_x(x)).x;
  }
  // forward(x) v and derivative(x) v for a gated unit (see gate_times)
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T times(T x, T v) const {
    return times_sigmoid_times(x, beta_x(x), v);
  }
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T derivative_times(T x, T v) const {
    const auto z = finite(beta_x(x));
    const auto p = sigmoid_parts(z);
    return mul_add(hi_of(z), p.k, p.s) * (v * p.scale);
  }
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T second_derivative(T x) const {
    return swish_second_gradients(x, c<T>(beta), beta_x(x)).xx;
  }
};

// swish with a fixed beta, as an element-wise activation (and a gate). Each
// kind of beta runs its own loop (visit): the kernels' loops reload the form
// after every store (a store through char* may alias it), so a test of beta
// in the formula would run once per vector; SiLU's beta = 1 needs none.
struct Swish {
  double beta = 1.0;

  template <typename F>
  C10_HOST_DEVICE ACTOPS_INLINE void visit(const F& f) const {
    if (beta == 1.0) {
      f(SwishOf<true>{beta});
    } else {
      f(SwishOf<false>{beta});
    }
  }
};

// swish with a tensor beta: f(x, beta), a = x, b = beta.
struct SwishLearnable {
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T value(T x, T beta) const {
    return swish_value(x, beta);
  }
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE Gradient2<T> gradients(T x, T beta) const {
    const auto d = swish_gradients(x, beta_times(x, beta));
    return {d.x, d.beta};
  }
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE Hessian2<T> second_gradients(T x, T beta) const {
    const auto d = swish_second_gradients(x, beta, beta_times(x, beta));
    return {d.xx, d.xbeta, d.betabeta};
  }
};

}  // namespace ACTOPS_MATH_NS
}  // namespace actops::math
