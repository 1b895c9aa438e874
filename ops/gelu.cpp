// gelu (exact and tanh): the C++ API and the CPU and Meta kernels.
// Math: ops/math/gelu.h; CPU loops: ops/cpu/gelu_kernel.cpp; autograd:
// autograd/gelu.cpp.
#include <torch/library.h>

#include "actops/actops.h"
#include "ops/elementwise.h"

namespace actops {

bool gelu_uses_tanh(c10::string_view approximate, const char* op) {
  TORCH_CHECK(
      approximate == "none" || approximate == "tanh", op,
      ": approximate must be 'none' or 'tanh', got '", approximate, "'");
  return approximate == "tanh";
}

namespace {

constexpr const char* kGelu = "actops.gelu";
constexpr const char* kGeluBackward = "actops.gelu_backward";
constexpr const char* kGeluDoubleBackward = "actops.gelu_double_backward";

Params gelu_params(c10::string_view approximate, const char* op) {
  Params params;
  params.tanh = gelu_uses_tanh(approximate, op);
  return params;
}

at::Tensor gelu_cpu(const at::Tensor& x, c10::string_view approximate) {
  return activation_cpu(x, cpu::gelu_stub, gelu_params(approximate, kGelu), kGelu);
}
at::Tensor gelu_backward_cpu(const at::Tensor& grad, const at::Tensor& x, c10::string_view approximate) {
  return activation_gradient_cpu(
      grad, x, cpu::gelu_stub, Pass::First, gelu_params(approximate, kGeluBackward), kGeluBackward);
}
at::Tensor gelu_double_backward_cpu(const at::Tensor& grad, const at::Tensor& x, c10::string_view approximate) {
  return activation_gradient_cpu(
      grad, x, cpu::gelu_stub, Pass::Second, gelu_params(approximate, kGeluDoubleBackward),
      kGeluDoubleBackward);
}

at::Tensor gelu_meta(const at::Tensor& x, c10::string_view approximate) {
  gelu_uses_tanh(approximate, kGelu);
  return activation_meta(x, kGelu);
}
at::Tensor gelu_backward_meta(const at::Tensor& grad, const at::Tensor& x, c10::string_view approximate) {
  gelu_uses_tanh(approximate, kGeluBackward);
  return activation_gradient_meta(grad, x, kGeluBackward);
}
at::Tensor gelu_double_backward_meta(const at::Tensor& grad, const at::Tensor& x, c10::string_view approximate) {
  gelu_uses_tanh(approximate, kGeluDoubleBackward);
  return activation_gradient_meta(grad, x, kGeluDoubleBackward);
}

using GradientSignature = at::Tensor(const at::Tensor&, const at::Tensor&, c10::string_view);

}  // namespace

at::Tensor gelu(const at::Tensor& x, c10::string_view approximate) {
  static const auto op = find_op<at::Tensor(const at::Tensor&, c10::string_view)>("actops::gelu");
  return op.call(x, approximate);
}

at::Tensor gelu_backward(const at::Tensor& grad, const at::Tensor& x, c10::string_view approximate) {
  static const auto op = find_op<GradientSignature>("actops::gelu_backward");
  return op.call(grad, x, approximate);
}

at::Tensor gelu_double_backward(const at::Tensor& grad, const at::Tensor& x, c10::string_view approximate) {
  static const auto op = find_op<GradientSignature>("actops::gelu_double_backward");
  return op.call(grad, x, approximate);
}

TORCH_LIBRARY_IMPL(actops, CPU, m) {
  m.impl("gelu", &gelu_cpu);
  m.impl("gelu_backward", &gelu_backward_cpu);
  m.impl("gelu_double_backward", &gelu_double_backward_cpu);
}

TORCH_LIBRARY_IMPL(actops, Meta, m) {
  m.impl("gelu", &gelu_meta);
  m.impl("gelu_backward", &gelu_backward_meta);
  m.impl("gelu_double_backward", &gelu_double_backward_meta);
}

}  // namespace actops
