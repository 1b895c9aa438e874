// swiglu, split (gate and up broadcast as torch.mul) and packed ([gate | up]
// halves of one tensor along `dim`, read in place): the C++ API and the CPU
// and Meta kernels. Math: ops/math/swiglu.h; CPU loops:
// ops/cpu/swiglu_kernel.cpp; autograd: autograd/swiglu.cpp.
#include <ATen/TensorIterator.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <torch/library.h>

#include "actops/actops.h"
#include "ops/elementwise.h"

namespace actops {

namespace {

constexpr const char* kSwiglu = "actops.swiglu";
constexpr const char* kBackward = "actops.swiglu_backward";
constexpr const char* kDoubleBackward = "actops.swiglu_double_backward";
constexpr const char* kPacked = "actops.swiglu_packed";
constexpr const char* kPackedBackward = "actops.swiglu_packed_backward";

using Pair = std::tuple<at::Tensor, at::Tensor>;
using Triple = std::tuple<at::Tensor, at::Tensor, at::Tensor>;

// gate and up: floating, one dtype and device, shapes that broadcast.
c10::SymDimVector broadcast_shape(const at::Tensor& gate, const at::Tensor& up, const char* op) {
  check_floating(gate, op, "gate");
  check_floating(up, op, "up");
  TORCH_CHECK_TYPE(
      gate.scalar_type() == up.scalar_type(), op, ": up has dtype ", c10::getDtypeNames(up.scalar_type()).first,
      " but gate has dtype ", c10::getDtypeNames(gate.scalar_type()).first);
  TORCH_CHECK(up.device() == gate.device(), op, ": up is on ", up.device(), " but gate is on ", gate.device());
  const auto a = gate.sym_sizes();
  const auto b = up.sym_sizes();
  const size_t n = std::max(a.size(), b.size());
  c10::SymDimVector shape(n);
  for (size_t i = 0; i < n; ++i) {
    const c10::SymInt sa = i < n - a.size() ? c10::SymInt(1) : a[i - (n - a.size())];
    const c10::SymInt sb = i < n - b.size() ? c10::SymInt(1) : b[i - (n - b.size())];
    TORCH_CHECK(
        sa == 1 || sb == 1 || sa == sb, op, ": gate of shape ", a, " and up of shape ", b, " do not broadcast");
    shape[i] = sa == 1 ? sb : sa;
  }
  return shape;
}

// The output of the split op: gate's layout when no broadcasting happens.
at::Tensor split_output(const at::Tensor& gate, const at::Tensor& up, const char* op) {
  const auto shape = broadcast_shape(gate, up, op);
  if (gate.sym_sizes() == up.sym_sizes()) {
    return at::empty_like(gate, at::MemoryFormat::Preserve);
  }
  return at::empty_symint(shape, gate.options());
}

void check_split_gradient(const at::Tensor& grad, const at::Tensor& gate, const at::Tensor& up, const char* op) {
  const auto shape = broadcast_shape(gate, up, op);
  check_floating(grad, op, "grad");
  TORCH_CHECK_TYPE(
      grad.scalar_type() == gate.scalar_type(), op, ": grad has dtype ",
      c10::getDtypeNames(grad.scalar_type()).first, " but gate has dtype ",
      c10::getDtypeNames(gate.scalar_type()).first);
  TORCH_CHECK(
      grad.sym_sizes() == c10::SymIntArrayRef(shape), op, ": grad has shape ", grad.sym_sizes(),
      " but the output has shape ", c10::SymIntArrayRef(shape));
}

at::Tensor swiglu_cpu(const at::Tensor& gate, const at::Tensor& up) {
  at::Tensor out = split_output(gate, up, kSwiglu);
  auto iter = at::TensorIteratorConfig().add_output(out).add_const_input(gate).add_const_input(up).build();
  cpu::swiglu_stub(iter, Pass::Value, Params{});
  return out;
}
at::Tensor swiglu_meta(const at::Tensor& gate, const at::Tensor& up) {
  return split_output(gate, up, kSwiglu);
}

Pair swiglu_backward_cpu(const at::Tensor& grad, const at::Tensor& gate, const at::Tensor& up) {
  check_split_gradient(grad, gate, up, kBackward);
  auto out = gradients_cpu({grad, gate, up}, grad, {gate, up}, cpu::swiglu_stub, Pass::First, {});
  return {out[0], out[1]};
}
Pair swiglu_backward_meta(const at::Tensor& grad, const at::Tensor& gate, const at::Tensor& up) {
  check_split_gradient(grad, gate, up, kBackward);
  auto out = gradients_meta(grad, {gate, up});
  return {out[0], out[1]};
}

void check_double_gradient(
    const at::Tensor& gg_gate, const at::Tensor& gg_up, const at::Tensor& grad, const at::Tensor& gate,
    const at::Tensor& up, const char* op) {
  check_split_gradient(grad, gate, up, op);
  check_like(gg_gate, gate, op, "gg_gate", /*exact_shape=*/true);
  check_like(gg_up, up, op, "gg_up", /*exact_shape=*/true);
}
Triple swiglu_double_backward_cpu(
    const at::Tensor& gg_gate, const at::Tensor& gg_up, const at::Tensor& grad, const at::Tensor& gate,
    const at::Tensor& up) {
  check_double_gradient(gg_gate, gg_up, grad, gate, up, kDoubleBackward);
  auto out = gradients_cpu(
      {gg_gate, gg_up, grad, gate, up}, grad, {grad, gate, up}, cpu::swiglu_stub, Pass::Second, {});
  return {out[0], out[1], out[2]};
}
Triple swiglu_double_backward_meta(
    const at::Tensor& gg_gate, const at::Tensor& gg_up, const at::Tensor& grad, const at::Tensor& gate,
    const at::Tensor& up) {
  check_double_gradient(gg_gate, gg_up, grad, gate, up, kDoubleBackward);
  auto out = gradients_meta(grad, {grad, gate, up});
  return {out[0], out[1], out[2]};
}

at::Tensor swiglu_packed_cpu(const at::Tensor& x, int64_t dim) {
  auto [gate, up] = swiglu_halves(x, dim, kPacked);
  at::Tensor out = at::empty_like(gate, at::MemoryFormat::Preserve);
  auto iter = at::TensorIteratorConfig().add_output(out).add_const_input(gate).add_const_input(up).build();
  cpu::swiglu_stub(iter, Pass::Value, Params{});
  return out;
}
at::Tensor swiglu_packed_meta(const at::Tensor& x, int64_t dim) {
  auto [gate, up] = swiglu_halves(x, dim, kPacked);
  return at::empty_like(gate, at::MemoryFormat::Preserve);
}

void check_packed_gradient(const at::Tensor& grad, const at::Tensor& gate, const char* op) {
  check_like(grad, gate, op, "grad", /*exact_shape=*/true);
}
at::Tensor swiglu_packed_backward_cpu(const at::Tensor& grad, const at::Tensor& x, int64_t dim) {
  auto [gate, up] = swiglu_halves(x, dim, kPackedBackward);
  check_packed_gradient(grad, gate, kPackedBackward);
  at::Tensor grad_x = at::empty_like(x, at::MemoryFormat::Preserve);
  // Both halves of grad_x written in the same sweep, through views.
  auto [grad_gate, grad_up] = swiglu_halves(grad_x, dim, kPackedBackward);
  auto iter = at::TensorIteratorConfig()
                  .add_output(grad_gate)
                  .add_output(grad_up)
                  .add_const_input(grad)
                  .add_const_input(gate)
                  .add_const_input(up)
                  .build();
  cpu::swiglu_stub(iter, Pass::First, Params{});
  return grad_x;
}
at::Tensor swiglu_packed_backward_meta(const at::Tensor& grad, const at::Tensor& x, int64_t dim) {
  auto [gate, up] = swiglu_halves(x, dim, kPackedBackward);
  check_packed_gradient(grad, gate, kPackedBackward);
  return at::empty_like(x, at::MemoryFormat::Preserve);
}

}  // namespace

std::tuple<at::Tensor, at::Tensor> swiglu_halves(const at::Tensor& x, int64_t dim, const char* op) {
  check_floating(x, op, "x");
  const int64_t ndim = x.dim();
  TORCH_CHECK(ndim > 0, op, ": x must have at least one dimension");
  TORCH_CHECK(
      dim >= -ndim && dim < ndim, op, ": dim ", dim, " is out of range for x with ", ndim, " dimensions");
  const int64_t d = dim < 0 ? dim + ndim : dim;
  const c10::SymInt size = x.sym_size(d);
  TORCH_CHECK(
      size % 2 == 0, op, ": the size of dim ", dim, " (", size,
      ") must be even: it holds the [gate | up] halves");
  const c10::SymInt half = size / 2;
  return {x.narrow_symint(d, 0, half), x.narrow_symint(d, half, half)};
}

at::Tensor swiglu(const at::Tensor& gate, const at::Tensor& up) {
  static const auto op = find_op<at::Tensor(const at::Tensor&, const at::Tensor&)>("actops::swiglu");
  return op.call(gate, up);
}
Pair swiglu_backward(const at::Tensor& grad, const at::Tensor& gate, const at::Tensor& up) {
  static const auto op =
      find_op<Pair(const at::Tensor&, const at::Tensor&, const at::Tensor&)>("actops::swiglu_backward");
  return op.call(grad, gate, up);
}
Triple swiglu_double_backward(
    const at::Tensor& gg_gate, const at::Tensor& gg_up, const at::Tensor& grad, const at::Tensor& gate,
    const at::Tensor& up) {
  static const auto op = find_op<Triple(
      const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&)>(
      "actops::swiglu_double_backward");
  return op.call(gg_gate, gg_up, grad, gate, up);
}
at::Tensor swiglu(const at::Tensor& x, int64_t dim) {
  static const auto op = find_op<at::Tensor(const at::Tensor&, int64_t)>("actops::swiglu_packed");
  return op.call(x, dim);
}
at::Tensor swiglu_packed_backward(const at::Tensor& grad, const at::Tensor& x, int64_t dim) {
  static const auto op =
      find_op<at::Tensor(const at::Tensor&, const at::Tensor&, int64_t)>("actops::swiglu_packed_backward");
  return op.call(grad, x, dim);
}

TORCH_LIBRARY_IMPL(actops, CPU, m) {
  m.impl("swiglu", &swiglu_cpu);
  m.impl("swiglu_backward", &swiglu_backward_cpu);
  m.impl("swiglu_double_backward", &swiglu_double_backward_cpu);
  m.impl("swiglu_packed", &swiglu_packed_cpu);
  m.impl("swiglu_packed_backward", &swiglu_packed_backward_cpu);
}

TORCH_LIBRARY_IMPL(actops, Meta, m) {
  m.impl("swiglu", &swiglu_meta);
  m.impl("swiglu_backward", &swiglu_backward_meta);
  m.impl("swiglu_double_backward", &swiglu_double_backward_meta);
  m.impl("swiglu_packed", &swiglu_packed_meta);
  m.impl("swiglu_packed_backward", &swiglu_packed_backward_meta);
}

}  // namespace actops
