// Gated linear units: glu(g, u) = gate(g) * (u + up_offset) for any
// element-wise gate with forward / derivative / second_derivative (Swish
// gives SwiGLU, GELU GeGLU, ReLU ReGLU). With a limit (GPT-OSS), g is clamped
// to <= limit and u to [-limit, limit] first, with torch.clamp's gradient:
// it passes where the value lies within the bounds, boundaries included.
// Everything the backward and double backward need follows from the gate's
// three functions; with m_g, m_u where the clamps pass the gradient (as
// selects, so that a NaN on the other side does not leak into a 0) and
// v = clamp(u) + offset, g clamped:
//   f_g = m_g v gate'(g)     f_u = m_u gate(g)
//   f_gg = m_g v gate''(g)   f_gu = m_g m_u gate'(g)   f_uu = 0
#pragma once

#include <c10/util/Exception.h>
#include <c10/util/Optional.h>

#include <tuple>
#include <type_traits>
#include <utility>

#include "ops/math/common.h"

namespace actops::math {
inline namespace ACTOPS_MATH_NS {

// gate(g) v and gate'(g) v: from the gate's own times / derivative_times
// where it has them (Swish, GELU), which round once where gate(g) alone would
// be subnormal and v is large (swiglu(-96, -96) is a normal float).
template <typename Gate, typename T, typename = void>
struct has_times : std::false_type {};
template <typename Gate, typename T>
struct has_times<Gate, T,
                 std::void_t<decltype(std::declval<const Gate&>().times(std::declval<T>(), std::declval<T>()))>>
    : std::true_type {};

template <typename Gate, typename T>
C10_HOST_DEVICE ACTOPS_INLINE T gate_times(const Gate& gate, T g, T v) {
  if constexpr (has_times<Gate, T>::value) {
    return gate.times(g, v);
  } else {
    return gate.forward(g) * v;
  }
}
template <typename Gate, typename T>
C10_HOST_DEVICE ACTOPS_INLINE T gate_derivative_times(const Gate& gate, T g, T v) {
  if constexpr (has_times<Gate, T>::value) {
    return gate.derivative_times(g, v);
  } else {
    return v * gate.derivative(g);
  }
}

// No clamp: the gate's own derivatives, NaN propagating as usual.
template <typename Gate>
struct GluForm {
  static constexpr bool kLight = is_light_v<Gate>;
  Gate gate;
  double up_offset;

  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T value(T g, T u) const {
    return gate_times(gate, g, u + c<T>(up_offset));
  }
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE Gradient2<T> gradients(T g, T u) const {
    return {gate_derivative_times(gate, g, u + c<T>(up_offset)), gate.forward(g)};
  }
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE Hessian2<T> second_gradients(T g, T u) const {
    return {(u + c<T>(up_offset)) * gate.second_derivative(g), gate.derivative(g), c<T>(0)};
  }
};

template <typename Gate>
struct ClampedGluForm {
  static constexpr bool kLight = is_light_v<Gate>;
  Gate gate;
  double limit;
  double up_offset;

  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T gate_in(T g) const {
    return nan_min(g, c<T>(limit));
  }
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T up_in(T u) const {
    return clamp(u, c<T>(-limit), c<T>(limit)) + c<T>(up_offset);
  }
  // where the gradient passes the clamp (false for NaN: torch.clamp's
  // gradient is 0 there, whatever the other factor)
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE auto gate_passes(T g) const {
    return g <= c<T>(limit);
  }
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE auto up_passes(T u) const {
    return abs(u) <= c<T>(limit);
  }

  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE T value(T g, T u) const {
    return gate_times(gate, gate_in(g), up_in(u));
  }
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE Gradient2<T> gradients(T g, T u) const {
    const T gc = gate_in(g);
    return {where(gate_passes(g), gate_derivative_times(gate, gc, up_in(u)), c<T>(0)),
            where(up_passes(u), gate.forward(gc), c<T>(0))};
  }
  template <typename T>
  C10_HOST_DEVICE ACTOPS_INLINE Hessian2<T> second_gradients(T g, T u) const {
    const T gc = gate_in(g);
    const auto passes = gate_passes(g);
    return {where(passes, up_in(u) * gate.second_derivative(gc), c<T>(0)),
            where(passes, where(up_passes(u), gate.derivative(gc), c<T>(0)), c<T>(0)), c<T>(0)};
  }
};

template <typename Gate>
struct Glu {
  Gate gate{};
  bool clamped = false;
  double limit = 0.0;
  double up_offset = 0.0;

  // The clamped or plain form over the gate's own chosen form.
  template <typename F>
  C10_HOST_DEVICE ACTOPS_INLINE void visit(const F& f) const {
    visit_form(gate, [&](const auto& form) {
      using Form = std::decay_t<decltype(form)>;
      if (clamped) {
        f(ClampedGluForm<Form>{form, limit, up_offset});
      } else {
        f(GluForm<Form>{form, up_offset});
      }
    });
  }
};

// A gated row's scalar arguments: the gate's, then limit and up_offset.
template <typename Gate>
struct Maker<Glu<Gate>> {
  template <typename... Args>
  static Glu<Gate> make(const char* op, const Args&... args) {
    return make_from(op, std::forward_as_tuple(args...), std::make_index_sequence<sizeof...(Args) - 2>{});
  }

 private:
  template <typename Tuple, size_t... I>
  static Glu<Gate> make_from(const char* op, const Tuple& args, std::index_sequence<I...>) {
    constexpr size_t n = std::tuple_size<Tuple>::value;
    const c10::optional<double> limit = std::get<n - 2>(args);
    const double up_offset = std::get<n - 1>(args);
    TORCH_CHECK(!limit.has_value() || *limit > 0, op, ": limit must be positive, got ", limit.value_or(0.0));
    return Glu<Gate>{Maker<Gate>::make(op, std::get<I>(args)...), limit.has_value(), limit.value_or(0.0), up_offset};
  }
};

}  // namespace ACTOPS_MATH_NS
}  // namespace actops::math
