#pragma once

// The table of actops ops: one row per op. Everything else follows from a
// row — the schemas of the op and of its backward and double-backward ops,
// their CPU, CUDA and Meta kernels, the autograd nodes with forward-mode
// derivatives, the public C++ functions (actops.h), the out= and in-place
// overloads and the op's error name.
//
// Columns:
//   name      the op: torch.ops.actops.<name>, actops::<name>, "actops.<name>"
//   Math      the formula struct in actops::math (ops/math/), built from the
//             op's scalar parameters
//   params    the op's scalar parameters, each written once as
//             (Type, name, default) with Type one of Float (double, schema
//             "float"), OptionalFloat (c10::optional<double>, "float?", the
//             default None) or Str (c10::string_view, "str"); a sequence
//             with no separator, empty for none. The C++ signatures, the
//             schemas with their defaults and the backward schemas without
//             them are derived from it (actops/detail/params.h).
//
// Unary rows: f(x). Math has forward / derivative / second_derivative.
//   ops <name>(x, params), <name>_backward(grad, x, params),
//       <name>_double_backward(grad, x, params), <name>.out, <name>_ (in place)
#define ACTOPS_UNARY_OPS(X)           \
  X(mish, Mish, )                     \
  X(relu2, Relu2, )                   \
  X(swish, Swish, (Float, beta, 1.0)) \
  X(gelu, Gelu, (Str, approximate, "none"))

// Parametric rows: f(x, p) with a tensor parameter p that broadcasts to x
// (one value, or one per channel). Math has value / gradients /
// second_gradients in (x, p). The public C++ function is
// <public_name>(x, params..., p) (params without defaults there); the schema
// is <name>(x, p, params).
//   ops <name>, <name>_backward(grad, x, p, ...) -> (grad_x, grad_p),
//       <name>_double_backward(gg_x, gg_p, grad, x, p, ...) -> (grad_grad, grad_x, grad_p),
//       <name>.out
#define ACTOPS_PARAMETRIC_OPS(X)                                            \
  X(swish_learnable, swish, SwishLearnable, beta, )                         \
  X(trelu_learnable, trelu, TReluLearnable, alpha, (Float, threshold, 1.0)) \
  X(snake, snake, Snake, alpha, )

// Gated rows: gate(g) * (u + up_offset), the gate any unary Math
// (Glu<Gate>), with g and u optionally clamped first (limit, GPT-OSS). Two
// layouts: split, <name>(gate, up, *, params), broadcasting as torch.mul,
// and packed, <name>_packed(x, dim=-1, *, layout="gate_up", params), x
// holding gate and up along dim ("gate_up", "up_gate" halves or
// "interleaved": gate at even, up at odd positions). The params column lists
// the gate's parameters; every gated op takes ACTOPS_GATED_PARAMS after them.
//   ops <name>, <name>_backward, <name>_double_backward (split, as the
//       parametric ops), <name>_packed, <name>_packed_backward(grad, x, dim,
//       layout, ...), <name>.out, <name>_packed.out
#define ACTOPS_GATED_PARAMS (OptionalFloat, limit, None)(Float, up_offset, 0.0)
#define ACTOPS_GATED_OPS(X)                             \
  X(swiglu, Glu<math::Swish>, (Float, beta, 1.0))       \
  X(geglu, Glu<math::Gelu>, (Str, approximate, "none")) \
  X(reglu, Glu<math::Relu>, )

namespace actops {
// The packed gated ops' default layout.
inline constexpr const char kGatedLayoutDefault[] = "gate_up";
}  // namespace actops
