// mish: the C++ API (through the dispatcher) and the CPU and Meta kernels.
// The math is in ops/math/mish.h, the CPU loops in ops/cpu/mish_kernel.cpp,
// the autograd in autograd/mish.cpp.
#include <torch/library.h>

#include "actops/actops.h"
#include "ops/elementwise.h"

namespace actops {

namespace {

constexpr const char* kMish = "actops.mish";
constexpr const char* kMishBackward = "actops.mish_backward";
constexpr const char* kMishDoubleBackward = "actops.mish_double_backward";

at::Tensor mish_cpu(const at::Tensor& x) {
  return activation_cpu(x, cpu::mish_stub, {}, kMish);
}
at::Tensor mish_backward_cpu(const at::Tensor& grad, const at::Tensor& x) {
  return activation_gradient_cpu(grad, x, cpu::mish_stub, Pass::First, {}, kMishBackward);
}
at::Tensor mish_double_backward_cpu(const at::Tensor& grad, const at::Tensor& x) {
  return activation_gradient_cpu(grad, x, cpu::mish_stub, Pass::Second, {}, kMishDoubleBackward);
}

at::Tensor mish_meta(const at::Tensor& x) {
  return activation_meta(x, kMish);
}
at::Tensor mish_backward_meta(const at::Tensor& grad, const at::Tensor& x) {
  return activation_gradient_meta(grad, x, kMishBackward);
}
at::Tensor mish_double_backward_meta(const at::Tensor& grad, const at::Tensor& x) {
  return activation_gradient_meta(grad, x, kMishDoubleBackward);
}

}  // namespace

at::Tensor mish(const at::Tensor& x) {
  static const auto op = find_op<at::Tensor(const at::Tensor&)>("actops::mish");
  return op.call(x);
}

at::Tensor mish_backward(const at::Tensor& grad, const at::Tensor& x) {
  static const auto op = find_op<at::Tensor(const at::Tensor&, const at::Tensor&)>("actops::mish_backward");
  return op.call(grad, x);
}

at::Tensor mish_double_backward(const at::Tensor& grad, const at::Tensor& x) {
  static const auto op =
      find_op<at::Tensor(const at::Tensor&, const at::Tensor&)>("actops::mish_double_backward");
  return op.call(grad, x);
}

TORCH_LIBRARY_IMPL(actops, CPU, m) {
  m.impl("mish", &mish_cpu);
  m.impl("mish_backward", &mish_backward_cpu);
  m.impl("mish_double_backward", &mish_double_backward_cpu);
}

TORCH_LIBRARY_IMPL(actops, Meta, m) {
  m.impl("mish", &mish_meta);
  m.impl("mish_backward", &mish_backward_meta);
  m.impl("mish_double_backward", &mish_double_backward_meta);
}

}  // namespace actops
