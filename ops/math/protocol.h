// The protocol between a formula struct (ops/math/<op>.h) and the loops that
// run it (ops/cpu/, ops/cuda/): how a struct is built from the op's scalar
// arguments (Maker), its run-time forms (visit_form), whether a form is light
// (is_light_v), and the gradient passes of a two-tensor op, written once from
// a form's gradients and second_gradients (first_pass, second_pass).
#pragma once

#include <type_traits>

#include "ops/math/primitives.h"

namespace actops::math {
inline namespace ACTOPS_MATH_NS {

// Builds an op's math struct from the op's scalar arguments (after `op`, its
// name for errors): aggregate initialization unless specialized (gelu parses
// its `approximate` string).
template <typename Math>
struct Maker {
  template <typename... Args>
  static Math make(const char* /*op*/, const Args&... args) {
    return Math{args...};
  }
};

// Some math structs choose among forms at run time (gelu's approximate, a
// clamped or plain gated unit): they have visit(f), which calls f with the
// chosen form, a struct of its own, so that each form gets its own loop.
template <typename Math, typename = void>
struct has_visit : std::false_type {};
template <typename Math>
struct has_visit<Math, std::void_t<decltype(&Math::template visit<int (*)(int)>)>> : std::true_type {};

// Whether a form's formula is light: a few instructions an element (ReLU,
// ReLU^2, TReLU, ReGLU), so that its calls are bound by memory from a smaller
// size on, and the CPU loops write their outputs with streaming stores from
// that size (ops/cpu/loops.h, stream_threshold).
// A form says so with `static constexpr bool kLight = true`.
template <typename Form, typename = void>
struct is_light : std::false_type {};
template <typename Form>
struct is_light<Form, std::void_t<decltype(Form::kLight)>> : std::bool_constant<Form::kLight> {};
template <typename Form>
inline constexpr bool is_light_v = is_light<Form>::value;

// f(form) for m's chosen form, or f(m) when m has one form.
template <typename Math, typename F>
C10_HOST_DEVICE ACTOPS_INLINE void visit_form(const Math& m, const F& f) {
  if constexpr (has_visit<Math>::value) {
    m.visit(f);
  } else {
    f(m);
  }
}

// The derivatives of a function f(a, b) of two tensors (x and a parameter,
// or a gate and an up projection): the backward and double backward of every
// two-tensor op are written with these alone (ops/cpu/binary_kernel.h).
template <typename T>
struct Gradient2 {
  T a, b;  // df/da, df/db
};
template <typename T>
struct Hessian2 {
  T aa, ab, bb;  // d2f/da2, d2f/da db, d2f/db2
};

// The gradient passes of a two-tensor op, from its form's gradients and
// second_gradients alone; written once for the CPU and CUDA kernels.
// First: grad times the gradients, (grad f_a, grad f_b).
template <typename Form, typename T>
C10_HOST_DEVICE ACTOPS_INLINE Gradient2<T> first_pass(const Form& m, const T& grad, const T& a, const T& b) {
  const auto d = m.gradients(a, b);
  return {grad * d.a, grad * d.b};
}
// Second: the gradients of gg_a . (grad f_a) + gg_b . (grad f_b) in
// (grad, a, b).
template <typename T>
struct SecondPass {
  T grad, a, b;
};
template <typename Form, typename T>
C10_HOST_DEVICE ACTOPS_INLINE SecondPass<T> second_pass(const Form& m, const T& gg_a, const T& gg_b, const T& grad,
                                                        const T& a, const T& b) {
  const auto d = m.gradients(a, b);
  const auto h = m.second_gradients(a, b);
  return {mul_add(gg_a, d.a, gg_b * d.b), grad * mul_add(gg_a, h.aa, gg_b * h.ab),
          grad * mul_add(gg_a, h.ab, gg_b * h.bb)};
}

}  // namespace ACTOPS_MATH_NS
}  // namespace actops::math
