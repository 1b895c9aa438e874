// swiglu(gate, up) = swish(gate) * up, swish(g) = g sigma(g), and the
// derivatives its backward and double backward need; shares swish's math.
//   f_gate = up * sw'(gate)    f_up = sw(gate)
//   f_gate,gate = up * sw''(gate)   f_gate,up = sw'(gate)   f_up,up = 0
#pragma once

#include "ops/math/swish.h"

namespace actops::math {
inline namespace ACTOPS_MATH_NS {

template <typename T>
C10_HOST_DEVICE inline T swiglu_value(T gate, T up) {
  return swish_value(gate, c<T>(1)) * up;
}

template <typename T>
struct SwigluGradients {
  T gate, up;
};
// (d gate, d up) for an incoming gradient `grad`.
template <typename T>
C10_HOST_DEVICE inline SwigluGradients<T> swiglu_gradients(T grad, T gate, T up) {
  const T dsw = swish_gradients(gate, c<T>(1)).x;
  return {grad * up * dsw, grad * swish_value(gate, c<T>(1))};
}

template <typename T>
struct SwigluSecondGradients {
  T grad, gate, up;
};
// The double backward: gradients of (gg_gate . d gate + gg_up . d up) with
// respect to grad, gate and up.
template <typename T>
C10_HOST_DEVICE inline SwigluSecondGradients<T> swiglu_second_gradients(
    T gg_gate, T gg_up, T grad, T gate, T up) {
  const T sw = swish_value(gate, c<T>(1));
  const T dsw = swish_gradients(gate, c<T>(1)).x;
  const T d2sw = swish_second_gradients(gate, c<T>(1)).xx;
  return {
      gg_gate * up * dsw + gg_up * sw,
      grad * (gg_gate * up * d2sw + gg_up * dsw),
      grad * gg_gate * dsw};
}

}  // namespace ACTOPS_MATH_NS
}  // namespace actops::math
