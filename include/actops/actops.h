// actops: activation-function operators for PyTorch and LibTorch.
//
// Every function here calls the registered op through the PyTorch dispatcher,
// so it runs the kernel for the tensor's device, records autograd (reverse and
// forward mode) when an input needs it, and is the same op that Python
// (torch.ops.actops.*) and TorchScript see. Link the CMake target
// actops::actops.
//
// The functions are generated from the op table (actops/op_table.h), one row
// per op:
//
//   at::Tensor mish(const at::Tensor& x);
//       x tanh(softplus(x)), exact over the whole floating range
//   at::Tensor relu2(const at::Tensor& x);
//       relu(x)^2, the squared ReLU
//   at::Tensor swish(const at::Tensor& x, double beta = 1.0);
//       x sigmoid(beta x); beta = 1 is SiLU
//   at::Tensor gelu(const at::Tensor& x, c10::string_view approximate = "none");
//       x Phi(x): "none" (erf, exact) or "tanh", as torch.nn.functional.gelu
//   at::Tensor swish(const at::Tensor& x, const at::Tensor& beta);
//       learnable beta, broadcast to x (one value or one per channel)
//   at::Tensor trelu(const at::Tensor& x, double threshold, const at::Tensor& alpha);
//       learnable alpha, as the fixed-alpha trelu below
//   at::Tensor snake(const at::Tensor& x, const at::Tensor& alpha);
//       x + sin^2(alpha x) / alpha (its limit x at alpha = 0), alpha learnable,
//       broadcast to x (one value or one per channel)
//   at::Tensor swiglu(const at::Tensor& gate, const at::Tensor& up, double beta = 1.0,
//                     c10::optional<double> limit = c10::nullopt, double up_offset = 0.0);
//       swish_beta(gate) * (up + up_offset), broadcasting as torch.mul; with a
//       limit, gate clamped to <= limit and up to [-limit, limit] first
//   at::Tensor swiglu(const at::Tensor& x, int64_t dim, c10::string_view layout = "gate_up", ...);
//       the same on gate and up packed in x along dim ("gate_up", "up_gate"
//       or "interleaved"), read in place
//   geglu(gate, up, approximate = "none", limit, up_offset), geglu(x, dim, layout, ...)
//       gelu(gate) * (up + up_offset), GELU exact or "tanh"
//   reglu(gate, up, limit, up_offset), reglu(x, dim, layout, ...)
//       relu(gate) * (up + up_offset)
//
// Floating dtypes only (float32, float64, bfloat16, float16); any shape and
// layout. Tensor operands of one op follow torch's type promotion, as
// torch.mul does. The backward ops (differentiable again) are in
// actops::detail.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/util/Optional.h>
#include <c10/util/string_view.h>

#include <tuple>

#include "actops/op_table.h"
// The expanders of the table's params column, undone at the end of this header.
#include "actops/detail/params.h"

#if defined(__GNUC__)
#define ACTOPS_API __attribute__((visibility("default")))
#else
#define ACTOPS_API
#endif

// Linking: a program that includes this header keeps libactops linked even
// if it calls no actops function (it may only load TorchScript that uses the
// ops, which the library registers when it is loaded): the anchor below
// references a symbol of libactops from every translation unit, which the
// linker's --as-needed respects, and it affects no other library.
extern "C" ACTOPS_API const int actops_library_anchor;
namespace actops::detail {
[[gnu::used]] static const int* const library_anchor = &actops_library_anchor;
}  // namespace actops::detail

namespace actops {

namespace detail {

// The dispatcher's argument type for a C++ argument: tensors by reference.
template <typename T>
struct dispatch_arg {
  using type = T;
};
template <>
struct dispatch_arg<at::Tensor> {
  using type = const at::Tensor&;
};

// Calls "actops::<name>" with `args`, the handle looked up once per call site.
template <typename Ret, typename... Args>
Ret call(const c10::OperatorHandle& op, const Args&... args) {
  return op.typed<Ret(typename dispatch_arg<Args>::type...)>().call(args...);
}
ACTOPS_API c10::OperatorHandle find_op(const char* name);
ACTOPS_API c10::OperatorHandle find_op_overload(const char* name, const char* overload);

}  // namespace detail

#define ACTOPS_OP_CALL(ret, op_name, ...)                                   \
  static const c10::OperatorHandle op = ::actops::detail::find_op(op_name); \
  return ::actops::detail::call<ret>(op, __VA_ARGS__)

using TensorPair = std::tuple<at::Tensor, at::Tensor>;
using TensorTriple = std::tuple<at::Tensor, at::Tensor, at::Tensor>;

// ---- unary ops: f(x), grad * f'(x), grad * f''(x) ----
#define ACTOPS_DECLARE_UNARY(name, Math, params)                                                                     \
  inline at::Tensor name(const at::Tensor& x ACTOPS_PARAMS_DECL(params)) {                                           \
    ACTOPS_OP_CALL(at::Tensor, "actops::" #name, x ACTOPS_PARAMS_ARGS(params));                                      \
  }                                                                                                                  \
  namespace detail {                                                                                                 \
  inline at::Tensor name##_backward(const at::Tensor& grad, const at::Tensor& x ACTOPS_PARAMS_DECL(params)) {        \
    ACTOPS_OP_CALL(at::Tensor, "actops::" #name "_backward", grad, x ACTOPS_PARAMS_ARGS(params));                    \
  }                                                                                                                  \
  inline at::Tensor name##_double_backward(const at::Tensor& grad, const at::Tensor& x ACTOPS_PARAMS_DECL(params)) { \
    ACTOPS_OP_CALL(at::Tensor, "actops::" #name "_double_backward", grad, x ACTOPS_PARAMS_ARGS(params));             \
  }                                                                                                                  \
  }
ACTOPS_UNARY_OPS(ACTOPS_DECLARE_UNARY)
#undef ACTOPS_DECLARE_UNARY

// ---- two-tensor ops: the backward gives both gradients, each reduced to its
// input's shape and dtype; the double backward (grad_grad, grad_a, grad_b) ----
#define ACTOPS_DECLARE_BINARY_DETAIL(name, a, b, params)                                             \
  namespace detail {                                                                                 \
  inline TensorPair name##_backward(const at::Tensor& grad, const at::Tensor& a,                     \
                                    const at::Tensor& b ACTOPS_PARAMS_DECL(params)) {                \
    ACTOPS_OP_CALL(TensorPair, "actops::" #name "_backward", grad, a, b ACTOPS_PARAMS_ARGS(params)); \
  }                                                                                                  \
  inline TensorTriple name##_double_backward(const at::Tensor& gg_##a, const at::Tensor& gg_##b,     \
                                             const at::Tensor& grad, const at::Tensor& a,            \
                                             const at::Tensor& b ACTOPS_PARAMS_DECL(params)) {       \
    ACTOPS_OP_CALL(TensorTriple, "actops::" #name "_double_backward", gg_##a, gg_##b, grad, a,       \
                   b ACTOPS_PARAMS_ARGS(params));                                                    \
  }                                                                                                  \
  }

#define ACTOPS_DECLARE_PARAMETRIC(name, public_name, Math, p, params)                                   \
  inline at::Tensor public_name(const at::Tensor& x ACTOPS_PARAMS_PLAIN(params), const at::Tensor& p) { \
    ACTOPS_OP_CALL(at::Tensor, "actops::" #name, x, p ACTOPS_PARAMS_ARGS(params));                      \
  }                                                                                                     \
  ACTOPS_DECLARE_BINARY_DETAIL(name, x, p, params)
ACTOPS_PARAMETRIC_OPS(ACTOPS_DECLARE_PARAMETRIC)
#undef ACTOPS_DECLARE_PARAMETRIC

#define ACTOPS_DECLARE_GATED_WITH(name, params)                                                                        \
  inline at::Tensor name(const at::Tensor& gate, const at::Tensor& up ACTOPS_PARAMS_DECL(params)) {                    \
    ACTOPS_OP_CALL(at::Tensor, "actops::" #name, gate, up ACTOPS_PARAMS_ARGS(params));                                 \
  }                                                                                                                    \
  inline at::Tensor name(const at::Tensor& x, int64_t dim,                                                             \
                         c10::string_view layout = kGatedLayoutDefault ACTOPS_PARAMS_DECL(params)) {                   \
    ACTOPS_OP_CALL(at::Tensor, "actops::" #name "_packed", x, dim, layout ACTOPS_PARAMS_ARGS(params));                 \
  }                                                                                                                    \
  ACTOPS_DECLARE_BINARY_DETAIL(name, gate, up, params)                                                                 \
  namespace detail {                                                                                                   \
  inline at::Tensor name##_packed_backward(const at::Tensor& grad, const at::Tensor& x, int64_t dim,                   \
                                           c10::string_view layout = kGatedLayoutDefault ACTOPS_PARAMS_DECL(params)) { \
    ACTOPS_OP_CALL(at::Tensor, "actops::" #name "_packed_backward", grad, x, dim, layout ACTOPS_PARAMS_ARGS(params));  \
  }                                                                                                                    \
  }
#define ACTOPS_DECLARE_GATED(name, Math, params) ACTOPS_DECLARE_GATED_WITH(name, params ACTOPS_GATED_PARAMS)
ACTOPS_GATED_OPS(ACTOPS_DECLARE_GATED)
#undef ACTOPS_DECLARE_GATED
#undef ACTOPS_DECLARE_GATED_WITH
#undef ACTOPS_DECLARE_BINARY_DETAIL

// ---- trelu with a fixed alpha: the backward keeps a 1-byte mask, not x ----
// trelu(x; threshold, alpha) = x where x > threshold, alpha * x elsewhere.
inline at::Tensor trelu(const at::Tensor& x, double threshold = 1.0, double alpha = 0.0) {
  ACTOPS_OP_CALL(at::Tensor, "actops::trelu", x, threshold, alpha);
}
// The output and the mask x > threshold, in one pass.
inline TensorPair trelu_with_mask(const at::Tensor& x, double threshold = 1.0, double alpha = 0.0) {
  ACTOPS_OP_CALL(TensorPair, "actops::trelu_with_mask", x, threshold, alpha);
}
namespace detail {
inline at::Tensor trelu_backward(const at::Tensor& grad, const at::Tensor& mask, double alpha) {
  ACTOPS_OP_CALL(at::Tensor, "actops::trelu_backward", grad, mask, alpha);
}
}  // namespace detail

// ---- maxout ----
// maxout(x, pieces, dim): the size C*pieces of dim split into C groups of
// `pieces` consecutive elements, each giving its maximum; equals
// x.unflatten(dim, {C, pieces}).amax(dim + 1). The backward sends each group's
// gradient to its first maximum.
inline at::Tensor maxout(const at::Tensor& x, int64_t pieces, int64_t dim = 1) {
  ACTOPS_OP_CALL(at::Tensor, "actops::maxout", x, pieces, dim);
}
// The output and the index of each group's first maximum, in the smallest
// integer dtype that holds pieces (uint8 up to 256 pieces).
inline TensorPair maxout_with_indices(const at::Tensor& x, int64_t pieces, int64_t dim = 1) {
  ACTOPS_OP_CALL(TensorPair, "actops::maxout_with_indices", x, pieces, dim);
}
namespace detail {
inline at::Tensor maxout_backward(const at::Tensor& grad, const at::Tensor& indices, int64_t pieces, int64_t dim) {
  ACTOPS_OP_CALL(at::Tensor, "actops::maxout_backward", grad, indices, pieces, dim);
}
}  // namespace detail

// ---- out= and in place (ATen's order: out first; the result written into
// out, resized if its shape differs, an error if its dtype does; no autograd
// through out=). In place: the element-wise ops, x overwritten and returned.
#define ACTOPS_DECLARE_UNARY_OUT(name, Math, params)                                                             \
  inline at::Tensor& name##_out(at::Tensor& out, const at::Tensor& x ACTOPS_PARAMS_DECL(params)) {               \
    static const auto op = ::actops::detail::find_op_overload("actops::" #name, "out");                          \
    return op.typed<at::Tensor&(const at::Tensor& ACTOPS_PARAMS_TYPES(params), at::Tensor&)>().call(             \
        x ACTOPS_PARAMS_ARGS(params), out);                                                                      \
  }                                                                                                              \
  inline at::Tensor& name##_(at::Tensor& x ACTOPS_PARAMS_DECL(params)) {                                         \
    static const auto op = ::actops::detail::find_op_overload("actops::" #name "_", "");                         \
    return op.typed<at::Tensor&(at::Tensor & ACTOPS_PARAMS_TYPES(params))>().call(x ACTOPS_PARAMS_ARGS(params)); \
  }
ACTOPS_UNARY_OPS(ACTOPS_DECLARE_UNARY_OUT)
#undef ACTOPS_DECLARE_UNARY_OUT

inline at::Tensor& trelu_out(at::Tensor& out, const at::Tensor& x, double threshold = 1.0, double alpha = 0.0) {
  static const auto op = detail::find_op_overload("actops::trelu", "out");
  return op.typed<at::Tensor&(const at::Tensor&, double, double, at::Tensor&)>().call(x, threshold, alpha, out);
}
inline at::Tensor& trelu_(at::Tensor& x, double threshold = 1.0, double alpha = 0.0) {
  static const auto op = detail::find_op_overload("actops::trelu_", "");
  return op.typed<at::Tensor&(at::Tensor&, double, double)>().call(x, threshold, alpha);
}
inline at::Tensor& maxout_out(at::Tensor& out, const at::Tensor& x, int64_t pieces, int64_t dim = 1) {
  static const auto op = detail::find_op_overload("actops::maxout", "out");
  return op.typed<at::Tensor&(const at::Tensor&, int64_t, int64_t, at::Tensor&)>().call(x, pieces, dim, out);
}

#undef ACTOPS_OP_CALL
#include "actops/detail/params_end.h"

// The CPU instruction set the kernels run with on this machine
// ("AVX512", "AVX2" or "DEFAULT").
ACTOPS_API const char* cpu_capability();

}  // namespace actops
