// trelu(x; theta, alpha) = x where x > theta, alpha x where x <= theta.
// Piecewise linear: f_x = 1 or alpha, f_alpha = 0 or x, every second
// derivative in x is 0 (away from the jump at theta).
#pragma once

#include "ops/math/common.h"

namespace actops::math {
inline namespace ACTOPS_MATH_NS {

template <typename T>
C10_HOST_DEVICE inline T trelu_value(T x, T threshold, T alpha) {
  return where(x > threshold, x, alpha * x);
}

// Fixed threshold and alpha, as an element-wise activation.
struct TRelu {
  double threshold;
  double alpha;

  template <typename T>
  C10_HOST_DEVICE T forward(T x) const {
    return trelu_value(x, c<T>(threshold), c<T>(alpha));
  }
  template <typename T>
  C10_HOST_DEVICE T derivative(T x) const {
    return where(x > c<T>(threshold), c<T>(1), c<T>(alpha));
  }
  template <typename T>
  C10_HOST_DEVICE T second_derivative(T /*x*/) const {
    return c<T>(0);
  }
};

}  // namespace ACTOPS_MATH_NS
}  // namespace actops::math
