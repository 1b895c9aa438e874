// relu(x) = max(x, 0) as a gate (ReGLU): derivative 1 above 0 and 0 at and
// below it (torch.relu's choice at the kink). NaN follows torch.relu's
// autograd (threshold_backward: the gradient passes unless x <= 0): NaN
// passes through the value and the derivative is 1 at a NaN x; and where the
// derivative is 0, gate'(g) v is 0 even for a NaN v (relu(g) * u's gradient
// in g is 0 there, whatever u).
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
    return where(x <= c<T>(0), c<T>(0), c<T>(1));
  }
  // gate(g) v and gate'(g) v (see gate_times in glu.h)
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T times(T x, T v) const {
    return forward(x) * v;
  }
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T derivative_times(T x, T v) const {
    return where(x <= c<T>(0), c<T>(0), v);
  }
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T second_derivative(T /*x*/) const {
    return c<T>(0);
  }
};

}  // namespace ACTOPS_MATH_NS
}  // namespace actops::math
