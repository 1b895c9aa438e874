// trelu(x; theta, alpha) = x where x > theta, alpha x where x <= theta.
// Piecewise linear: f_x = 1 or alpha, f_alpha = 0 or x, f_x,alpha = 0 or 1,
// every other second derivative 0 (away from the jump at theta, where the
// derivative is taken from the left).
#pragma once

#include "ops/math/common.h"

namespace actops::math {
inline namespace ACTOPS_MATH_NS {

template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE T trelu_value(T x, T threshold, T alpha) {
  return where(x > threshold, x, alpha * x);
}

// f'(x) given whether x is above the threshold (all that the fixed-alpha
// backward keeps: a 1-byte mask).
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE T trelu_masked_derivative(bool above, T alpha) {
  return above ? T(1) : alpha;
}

// Fixed threshold and alpha, as an element-wise activation.
struct TRelu {
  static constexpr bool kLight = true;
  double threshold = 1.0;
  double alpha = 0.0;

  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE bool above(T x) const {
    return x > static_cast<T>(threshold);
  }
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T forward(T x) const {
    return trelu_value(x, c<T>(threshold), c<T>(alpha));
  }
};

// Tensor alpha: f(x, alpha), a = x, b = alpha.
struct TReluLearnable {
  static constexpr bool kLight = true;
  double threshold = 1.0;

  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T value(T x, T alpha) const {
    return trelu_value(x, c<T>(threshold), alpha);
  }
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE Gradient2<T> gradients(T x, T alpha) const {
    const auto above = x > c<T>(threshold);
    return {where(above, c<T>(1), alpha), where(above, c<T>(0), x)};
  }
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE Hessian2<T> second_gradients(T x, T /*alpha*/) const {
    return {c<T>(0), where(x > c<T>(threshold), c<T>(0), c<T>(1)), c<T>(0)};
  }
};

}  // namespace ACTOPS_MATH_NS
}  // namespace actops::math
