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

template <typename T>
C10_HOST_DEVICE inline T swish_value(T x, T beta) {
  // beta x may be infinite: sigmoid takes that in its stride (0 or 1)
  return times_vanishing(x, sigmoid(beta * x));
}

template <typename T>
struct SwishGradients {
  T x, beta;
};
template <typename T>
C10_HOST_DEVICE inline SwishGradients<T> swish_gradients(T x, T beta) {
  const T xf = finite(x);
  const T z = finite(beta * x);
  const auto p = sigmoid_parts(z);
  return {p.s + z * p.k, xf * (xf * p.k)};
}

template <typename T>
struct SwishSecondGradients {
  T xx, xbeta, betabeta;
};
template <typename T>
C10_HOST_DEVICE inline SwishSecondGradients<T> swish_second_gradients(T x, T beta) {
  const T xf = finite(x);
  const T z = finite(beta * x);
  const auto p = sigmoid_parts(z);
  const T shape = c<T>(2) + z * p.o;  // bounded: |z o| <= |z|, and k ~ e^-|z|
  const T xk = xf * p.k;
  return {beta * p.k * shape, xk * shape, xf * (xf * (xk * p.o))};
}

// swish with a fixed beta, as an element-wise activation (and a gate).
struct Swish {
  double beta = 1.0;

  template <typename T>
  C10_HOST_DEVICE T forward(T x) const {
    return swish_value(x, c<T>(beta));
  }
  template <typename T>
  C10_HOST_DEVICE T derivative(T x) const {
    return swish_gradients(x, c<T>(beta)).x;
  }
  template <typename T>
  C10_HOST_DEVICE T second_derivative(T x) const {
    return swish_second_gradients(x, c<T>(beta)).xx;
  }
};

// swish with a tensor beta: f(x, beta), a = x, b = beta.
struct SwishLearnable {
  template <typename T>
  C10_HOST_DEVICE T value(T x, T beta) const {
    return swish_value(x, beta);
  }
  template <typename T>
  C10_HOST_DEVICE Gradient2<T> gradients(T x, T beta) const {
    const auto d = swish_gradients(x, beta);
    return {d.x, d.beta};
  }
  template <typename T>
  C10_HOST_DEVICE Hessian2<T> second_gradients(T x, T beta) const {
    const auto d = swish_second_gradients(x, beta);
    return {d.xx, d.xbeta, d.betabeta};
  }
};

}  // namespace ACTOPS_MATH_NS
}  // namespace actops::math
