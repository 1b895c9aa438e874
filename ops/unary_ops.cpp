// The unary ops of the op table (f(x), its backward and double backward, and
// the out= and in-place overloads <name>.out and <name>_): schemas, device
// (CPU, CUDA) and Meta kernels, from one template per row (their autograd is
// autograd/table.cpp's).
#include <ATen/TensorIterator.h>
#include <ATen/native/Resize.h>

#include <string>
#include <tuple>

#include "ops/kernel_stubs.h"
#include "ops/math/all.h"
#include "ops/op_support.h"
#include "ops/out_forms.h"
#include "ops/registration.h"
#include "ops/rows.h"

namespace actops {
namespace {

template <typename Row, typename Math, typename Args = typename Row::args_t>
struct UnaryOp;

template <typename Row, typename Math, typename... A>
struct UnaryOp<Row, Math, std::tuple<A...>> : rows::Names<Row> {
  using rows::Names<Row>::name;
  using rows::Names<Row>::backward_name;
  using rows::Names<Row>::double_backward_name;
  using rows::Names<Row>::inplace_name;
  using args_t = std::tuple<A...>;

  // ---- device and Meta kernels ----
  // Checks the scalar arguments (gelu's approximate) as the kernel will read them.
  static void check_args(const char* op, A... a) { (void)math::Maker<Math>::make(op, a...); }

  static at::Tensor run(const char* op, Pass pass, at::TensorIteratorConfig& config, at::Tensor out, A... a) {
    auto iter = config.build();
    launch(unary_stub<Row>, op, iter.device(), iter, pass, args_t(a...));
    return out;
  }

  static at::Tensor forward_kernel(const at::Tensor& x, A... a) {
    const char* op = name();
    check_args(op, a...);
    check_floating(x, op, "x");
    at::Tensor out = empty_like_preserving(x);
    at::TensorIteratorConfig config;
    config.add_output(out).add_const_input(x);
    return run(op, Pass::Value, config, out, a...);
  }
  static at::Tensor forward_meta(const at::Tensor& x, A... a) {
    check_args(name(), a...);
    check_floating(x, name(), "x");
    return empty_like_preserving(x);
  }

  // out=: ATen's semantics (an out of another size is resized, by the
  // iterator as ATen's own element-wise ops do; another dtype is an error).
  static at::Tensor& out_kernel(const at::Tensor& x, A... a, at::Tensor& out) {
    const char* op = name();
    check_args(op, a...);
    check_floating(x, op, "x");
    check_out(out, x.scalar_type(), x, op);
    check_out_overlap(out, x, "x", op);
    at::TensorIteratorConfig config;
    config.add_output(out).add_const_input(x);
    run(op, Pass::Value, config, out, a...);
    return out;
  }
  static at::Tensor& out_meta(const at::Tensor& x, A... a, at::Tensor& out) {
    check_args(name(), a...);
    check_floating(x, name(), "x");
    check_out(out, x.scalar_type(), x, name());
    at::native::resize_output_symint(out, x.sym_sizes());
    return out;
  }
  // In place: the iterator reads and writes x (a tensor whose elements
  // overlap, e.g. an expanded one, is refused by the iterator, as ATen does).
  static at::Tensor& inplace_kernel(at::Tensor& x, A... a) {
    const char* op = inplace_name();
    check_args(op, a...);
    check_floating(x, op, "x");
    at::TensorIteratorConfig config;
    config.add_output(x).add_const_input(x);
    run(op, Pass::Value, config, x, a...);
    return x;
  }
  static at::Tensor& inplace_meta(at::Tensor& x, A... a) {
    check_args(inplace_name(), a...);
    check_floating(x, inplace_name(), "x");
    return x;
  }

  static void check_gradient(const char* op, const at::Tensor& grad, const at::Tensor& x, A... a) {
    check_args(op, a...);
    check_floating(x, op, "x");
    check_like(grad, x, op, "grad", "x", /*exact_shape=*/true);
  }
  static at::Tensor gradient_kernel(const char* op, Pass pass, const at::Tensor& grad, const at::Tensor& x, A... a) {
    check_gradient(op, grad, x, a...);
    at::Tensor out = empty_like_preserving(x);
    at::TensorIteratorConfig config;
    config.add_output(out).add_const_input(grad).add_const_input(x);
    return run(op, pass, config, out, a...);
  }
  static at::Tensor backward_kernel(const at::Tensor& grad, const at::Tensor& x, A... a) {
    return gradient_kernel(backward_name(), Pass::First, grad, x, a...);
  }
  static at::Tensor double_backward_kernel(const at::Tensor& grad, const at::Tensor& x, A... a) {
    return gradient_kernel(double_backward_name(), Pass::Second, grad, x, a...);
  }
  static at::Tensor backward_meta(const at::Tensor& grad, const at::Tensor& x, A... a) {
    check_gradient(backward_name(), grad, x, a...);
    return empty_like_preserving(x);
  }
  static at::Tensor double_backward_meta(const at::Tensor& grad, const at::Tensor& x, A... a) {
    check_gradient(double_backward_name(), grad, x, a...);
    return empty_like_preserving(x);
  }

  static void define(torch::Library& m) {
    const std::string op = Row::name;
    const std::string params = Row::schema_params;
    const std::string plain = without_defaults(Row::schema_params);
    m.def((op + "(Tensor x" + params + ") -> Tensor").c_str(), op_tags());
    m.def((op + "_backward(Tensor grad, Tensor x" + plain + ") -> Tensor").c_str(), op_tags());
    m.def((op + "_double_backward(Tensor grad, Tensor x" + plain + ") -> Tensor").c_str(), op_tags());
    register_device_kernel(m, op, &forward_kernel);
    register_device_kernel(m, op + "_backward", &backward_kernel);
    register_device_kernel(m, op + "_double_backward", &double_backward_kernel);
    register_kernel(m, op, c10::DispatchKey::Meta, &forward_meta);
    register_kernel(m, op + "_backward", c10::DispatchKey::Meta, &backward_meta);
    register_kernel(m, op + "_double_backward", c10::DispatchKey::Meta, &double_backward_meta);

    m.def(out_schema(op, "Tensor x" + params).c_str(), out_tags());
    register_device_kernel(m, op + ".out", &out_kernel);
    register_kernel(m, op + ".out", c10::DispatchKey::Meta, &out_meta);
    register_out_autograd(m, op + ".out");
    m.def((op + "_(Tensor(a!) x" + params + ") -> Tensor(a!)").c_str(), inplace_tags());
    register_device_kernel(m, op + "_", &inplace_kernel);
    register_kernel(m, op + "_", c10::DispatchKey::Meta, &inplace_meta);
    register_inplace_view(m, op + "_");
  }
};

}  // namespace

void define_unary_ops(torch::Library& m) {
#define ACTOPS_DEFINE_UNARY(name, Math, ...) UnaryOp<rows::name, math::Math>::define(m);
  ACTOPS_UNARY_OPS(ACTOPS_DEFINE_UNARY)
#undef ACTOPS_DEFINE_UNARY
}

}  // namespace actops
