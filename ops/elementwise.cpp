#include "ops/elementwise.h"

#include <ATen/TensorIterator.h>
#include <ATen/ops/empty_like.h>

namespace actops {

void check_floating(const at::Tensor& t, const char* op, const char* arg) {
  TORCH_CHECK(t.defined(), op, ": ", arg, " is an undefined tensor");
  const auto dtype = t.scalar_type();
  TORCH_CHECK_TYPE(
      dtype == at::kFloat || dtype == at::kDouble || dtype == at::kBFloat16 ||
          dtype == at::kHalf,
      op, ": ", arg,
      " must be a floating-point tensor (float32, float64, bfloat16 or float16), got dtype ",
      c10::getDtypeNames(dtype).first);
}

void check_gradient(const at::Tensor& grad, const at::Tensor& x, const char* op) {
  check_floating(x, op, "x");
  check_floating(grad, op, "grad");
  TORCH_CHECK_TYPE(
      grad.scalar_type() == x.scalar_type(), op, ": grad has dtype ",
      c10::getDtypeNames(grad.scalar_type()).first, " but x has dtype ",
      c10::getDtypeNames(x.scalar_type()).first);
  TORCH_CHECK(
      grad.sym_sizes() == x.sym_sizes(), op, ": grad has shape ", grad.sym_sizes(),
      " but x has shape ", x.sym_sizes());
  TORCH_CHECK(
      grad.device() == x.device(), op, ": grad is on ", grad.device(), " but x is on ",
      x.device());
}

at::Tensor activation_cpu(
    const at::Tensor& x, const cpu::KernelStub<cpu::activation_fn>& stub, const char* op) {
  check_floating(x, op, "x");
  at::Tensor out = at::empty_like(x, at::MemoryFormat::Preserve);
  auto iter = at::TensorIteratorConfig().add_output(out).add_const_input(x).build();
  stub(iter, cpu::Order::Value);
  return out;
}

at::Tensor activation_gradient_cpu(
    const at::Tensor& grad,
    const at::Tensor& x,
    const cpu::KernelStub<cpu::activation_fn>& stub,
    cpu::Order order,
    const char* op) {
  check_gradient(grad, x, op);
  at::Tensor out = at::empty_like(x, at::MemoryFormat::Preserve);
  auto iter = at::TensorIteratorConfig()
                  .add_output(out)
                  .add_const_input(grad)
                  .add_const_input(x)
                  .build();
  stub(iter, order);
  return out;
}

at::Tensor activation_meta(const at::Tensor& x, const char* op) {
  check_floating(x, op, "x");
  return at::empty_like(x, at::MemoryFormat::Preserve);
}

at::Tensor activation_gradient_meta(const at::Tensor& grad, const at::Tensor& x, const char* op) {
  check_gradient(grad, x, op);
  return at::empty_like(x, at::MemoryFormat::Preserve);
}

}  // namespace actops
