// relu(x) = max(x, 0) as a gate (ReGLU): derivative 1 above 0 and 0 at and
// below it (torch.relu's choice at the kink); NaN passes through the value.
#pragma once

#include "ops/math/common.h"

namespace actops::math {
inline namespace ACTOPS_MATH_NS {

struct Relu {
  static constexpr bool kLight = true;
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T forward(T x) const {
    return nan_max(x, c<T>(0));
  }
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T derivative(T x) const {
    return where(x > c<T>(0), c<T>(1), c<T>(0));
  }
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T second_derivative(T /*x*/) const {
    return c<T>(0);
  }
};

}  // namespace ACTOPS_MATH_NS
}  // namespace actops::math
