// relu2(x) = relu(x)^2, the squared ReLU (Primer), and its first two
// derivatives, written once for the scalar, vectorized and CUDA paths.
//   f' = 2 relu(x),  f'' = 2 where x > 0, else 0 (0 at the kink, as relu's)
// NaN passes through relu (nan_max) and so through every derivative but the
// second, which is a step.
#pragma once

#include "ops/math/common.h"

namespace actops::math {
inline namespace ACTOPS_MATH_NS {

struct Relu2 {
  static constexpr bool kLight = true;
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T forward(T x) const {
    const T r = nan_max(x, c<T>(0));
    return r * r;
  }
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T derivative(T x) const {
    return c<T>(2) * nan_max(x, c<T>(0));
  }
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T second_derivative(T x) const {
    return where(x > c<T>(0), c<T>(2), c<T>(0));
  }
};

}  // namespace ACTOPS_MATH_NS
}  // namespace actops::math
