// Gated linear units: glu(g, u) = gate(g) * u for any element-wise gate with
// forward / derivative / second_derivative (Swish gives SwiGLU). Everything
// the backward and double backward need follows from the gate's three
// functions:
//   f_g = u gate'(g)    f_u = gate(g)
//   f_gg = u gate''(g)  f_gu = gate'(g)   f_uu = 0
#pragma once

#include "ops/math/common.h"

namespace actops::math {
inline namespace ACTOPS_MATH_NS {

template <typename Gate>
struct Glu {
  Gate gate{};

  template <typename T>
  C10_HOST_DEVICE T value(T g, T u) const {
    return gate.forward(g) * u;
  }
  template <typename T>
  C10_HOST_DEVICE Gradient2<T> gradients(T g, T u) const {
    return {u * gate.derivative(g), gate.forward(g)};
  }
  template <typename T>
  C10_HOST_DEVICE Hessian2<T> second_gradients(T g, T u) const {
    return {u * gate.second_derivative(g), gate.derivative(g), c<T>(0)};
  }
};

}  // namespace ACTOPS_MATH_NS
}  // namespace actops::math
