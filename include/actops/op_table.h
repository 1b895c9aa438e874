// The table of actops ops: one row per op. Everything else follows from a
// row — the schemas of the op and of its backward and double-backward ops,
// their CPU and Meta kernels, the autograd nodes with forward-mode
// derivatives, the public C++ function and the op's error name.
//
// Columns (parenthesized lists start with a comma so that they can be empty):
//   name      the op: torch.ops.actops.<name>, actops::<name>, "actops.<name>"
//   Math      the formula struct in actops::math (ops/math/), built from the
//             op's scalar arguments
//   params    the C++ scalar parameters of the public function, with defaults
//   args      their names
//   schema    the same parameters in the schema language, with defaults (the
//             backward ops' schemas repeat them without defaults)
//
// Unary rows: f(x). Math has forward / derivative / second_derivative.
//   ops <name>, <name>_backward(grad, x, ...), <name>_double_backward(grad, x, ...)
#define ACTOPS_UNARY_OPS(X)                                            \
  X(mish, Mish, (), (), "")                                            \
  X(relu2, Relu2, (), (), "")                                          \
  X(swish, Swish, (, double beta = 1.0), (, beta), ", float beta=1.0") \
  X(gelu, Gelu, (, c10::string_view approximate = "none"), (, approximate), ", str approximate=\"none\"")

// Parametric rows: f(x, p) with a tensor parameter p that broadcasts to x
// (one value, or one per channel). Math has value / gradients /
// second_gradients in (x, p). The public function is
// <public_name>(x, params..., p); the schema is <name>(x, p, params...).
//   ops <name>, <name>_backward(grad, x, p, ...) -> (grad_x, grad_p),
//       <name>_double_backward(gg_x, gg_p, grad, x, p, ...) -> (grad_grad, grad_x, grad_p)
//   X(name, public_name, Math, p, params, args, schema)
#define ACTOPS_PARAMETRIC_OPS(X)                              \
  X(swish_learnable, swish, SwishLearnable, beta, (), (), "") \
  X(trelu_learnable, trelu, TReluLearnable, alpha, (, double threshold), (, threshold), ", float threshold=1.0")

// Gated rows: gate(g) * (u + up_offset), the gate any unary Math
// (Glu<Gate>), with g and u optionally clamped first (limit, GPT-OSS). Two
// layouts: split, <name>(gate, up, *, params...), broadcasting as torch.mul,
// and packed, <name>_packed(x, dim=-1, *, layout="gate_up", params...), x
// holding gate and up along dim ("gate_up", "up_gate" halves or
// "interleaved": gate at even, up at odd positions). The params column lists
// the gate's parameters and then, in every gated row, limit and up_offset.
//   ops <name>, <name>_backward, <name>_double_backward (split, as the
//       parametric ops), <name>_packed, <name>_packed_backward(grad, x, dim,
//       layout, ...)
//   X(name, Math, params, args, schema)
#define ACTOPS_GLU_LAYOUT_DEFAULT "gate_up"
#define ACTOPS_GLU_PARAMS , c10::optional<double> limit = c10::nullopt, double up_offset = 0.0
#define ACTOPS_GLU_ARGS , limit, up_offset
#define ACTOPS_GLU_SCHEMA ", float? limit=None, float up_offset=0.0"
#define ACTOPS_GATED_OPS(X)                                                                      \
  X(swiglu, Glu<math::Swish>, (, double beta = 1.0 ACTOPS_GLU_PARAMS), (, beta ACTOPS_GLU_ARGS), \
    ", float beta=1.0" ACTOPS_GLU_SCHEMA)                                                        \
  X(geglu, Glu<math::Gelu>, (, c10::string_view approximate = "none" ACTOPS_GLU_PARAMS),         \
    (, approximate ACTOPS_GLU_ARGS), ", str approximate=\"none\"" ACTOPS_GLU_SCHEMA)             \
  X(reglu, Glu<math::Relu>, (ACTOPS_GLU_PARAMS), (ACTOPS_GLU_ARGS), ACTOPS_GLU_SCHEMA)

// Helpers for the columns.
#define ACTOPS_UNPAREN_(...) __VA_ARGS__
#define ACTOPS_UNPAREN(list) ACTOPS_UNPAREN_ list
