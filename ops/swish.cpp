// swish with a fixed beta (an element-wise activation) and with a tensor
// beta (learnable, broadcast to x): the C++ API and the CPU and Meta kernels.
// Math: ops/math/swish.h; CPU loops: ops/cpu/swish_kernel.cpp; autograd:
// autograd/swish.cpp.
#include <torch/library.h>

#include "actops/actops.h"
#include "ops/elementwise.h"

namespace actops {

namespace {

constexpr const char* kSwish = "actops.swish";
constexpr const char* kSwishBackward = "actops.swish_backward";
constexpr const char* kSwishDoubleBackward = "actops.swish_double_backward";
constexpr const char* kLearnable = "actops.swish_learnable";
constexpr const char* kLearnableBackward = "actops.swish_learnable_backward";
constexpr const char* kLearnableDoubleBackward = "actops.swish_learnable_double_backward";

Params swish_params(double beta) {
  Params params;
  params.beta = beta;
  return params;
}

at::Tensor swish_cpu(const at::Tensor& x, double beta) {
  return activation_cpu(x, cpu::swish_stub, swish_params(beta), kSwish);
}
at::Tensor swish_backward_cpu(const at::Tensor& grad, const at::Tensor& x, double beta) {
  return activation_gradient_cpu(grad, x, cpu::swish_stub, Pass::First, swish_params(beta), kSwishBackward);
}
at::Tensor swish_double_backward_cpu(const at::Tensor& grad, const at::Tensor& x, double beta) {
  return activation_gradient_cpu(
      grad, x, cpu::swish_stub, Pass::Second, swish_params(beta), kSwishDoubleBackward);
}
at::Tensor swish_meta(const at::Tensor& x, double /*beta*/) {
  return activation_meta(x, kSwish);
}
at::Tensor swish_backward_meta(const at::Tensor& grad, const at::Tensor& x, double /*beta*/) {
  return activation_gradient_meta(grad, x, kSwishBackward);
}
at::Tensor swish_double_backward_meta(const at::Tensor& grad, const at::Tensor& x, double /*beta*/) {
  return activation_gradient_meta(grad, x, kSwishDoubleBackward);
}

void check_learnable(const at::Tensor& x, const at::Tensor& beta, const char* op) {
  check_floating(x, op, "x");
  check_like(beta, x, op, "beta", /*exact_shape=*/false);
}
void check_learnable_gradient(
    const at::Tensor& grad, const at::Tensor& x, const at::Tensor& beta, const char* op) {
  check_learnable(x, beta, op);
  check_like(grad, x, op, "grad", /*exact_shape=*/true);
}
void check_learnable_double_gradient(
    const at::Tensor& gg_x, const at::Tensor& gg_beta, const at::Tensor& grad, const at::Tensor& x,
    const at::Tensor& beta, const char* op) {
  check_learnable_gradient(grad, x, beta, op);
  check_like(gg_x, x, op, "gg_x", /*exact_shape=*/true);
  check_like(gg_beta, beta, op, "gg_beta", /*exact_shape=*/true);
}

using Pair = std::tuple<at::Tensor, at::Tensor>;
using Triple = std::tuple<at::Tensor, at::Tensor, at::Tensor>;

at::Tensor swish_learnable_cpu(const at::Tensor& x, const at::Tensor& beta) {
  check_learnable(x, beta, kLearnable);
  return parametric_cpu(x, beta, cpu::swish_learnable_stub, {});
}
Pair swish_learnable_backward_cpu(const at::Tensor& grad, const at::Tensor& x, const at::Tensor& beta) {
  check_learnable_gradient(grad, x, beta, kLearnableBackward);
  auto out = gradients_cpu({grad, x, beta}, x, {x, beta}, cpu::swish_learnable_stub, Pass::First, {});
  return {out[0], out[1]};
}
Triple swish_learnable_double_backward_cpu(
    const at::Tensor& gg_x, const at::Tensor& gg_beta, const at::Tensor& grad, const at::Tensor& x,
    const at::Tensor& beta) {
  check_learnable_double_gradient(gg_x, gg_beta, grad, x, beta, kLearnableDoubleBackward);
  auto out = gradients_cpu(
      {gg_x, gg_beta, grad, x, beta}, x, {x, x, beta}, cpu::swish_learnable_stub, Pass::Second, {});
  return {out[0], out[1], out[2]};
}

at::Tensor swish_learnable_meta(const at::Tensor& x, const at::Tensor& beta) {
  check_learnable(x, beta, kLearnable);
  return parametric_meta(x);
}
Pair swish_learnable_backward_meta(const at::Tensor& grad, const at::Tensor& x, const at::Tensor& beta) {
  check_learnable_gradient(grad, x, beta, kLearnableBackward);
  auto out = gradients_meta(x, {x, beta});
  return {out[0], out[1]};
}
Triple swish_learnable_double_backward_meta(
    const at::Tensor& gg_x, const at::Tensor& gg_beta, const at::Tensor& grad, const at::Tensor& x,
    const at::Tensor& beta) {
  check_learnable_double_gradient(gg_x, gg_beta, grad, x, beta, kLearnableDoubleBackward);
  auto out = gradients_meta(x, {x, x, beta});
  return {out[0], out[1], out[2]};
}

using FixedGradient = at::Tensor(const at::Tensor&, const at::Tensor&, double);

}  // namespace

at::Tensor swish(const at::Tensor& x, double beta) {
  static const auto op = find_op<at::Tensor(const at::Tensor&, double)>("actops::swish");
  return op.call(x, beta);
}
at::Tensor swish_backward(const at::Tensor& grad, const at::Tensor& x, double beta) {
  static const auto op = find_op<FixedGradient>("actops::swish_backward");
  return op.call(grad, x, beta);
}
at::Tensor swish_double_backward(const at::Tensor& grad, const at::Tensor& x, double beta) {
  static const auto op = find_op<FixedGradient>("actops::swish_double_backward");
  return op.call(grad, x, beta);
}

at::Tensor swish(const at::Tensor& x, const at::Tensor& beta) {
  static const auto op = find_op<at::Tensor(const at::Tensor&, const at::Tensor&)>("actops::swish_learnable");
  return op.call(x, beta);
}
Pair swish_learnable_backward(const at::Tensor& grad, const at::Tensor& x, const at::Tensor& beta) {
  static const auto op =
      find_op<Pair(const at::Tensor&, const at::Tensor&, const at::Tensor&)>("actops::swish_learnable_backward");
  return op.call(grad, x, beta);
}
Triple swish_learnable_double_backward(
    const at::Tensor& gg_x, const at::Tensor& gg_beta, const at::Tensor& grad, const at::Tensor& x,
    const at::Tensor& beta) {
  static const auto op = find_op<Triple(
      const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&)>(
      "actops::swish_learnable_double_backward");
  return op.call(gg_x, gg_beta, grad, x, beta);
}

TORCH_LIBRARY_IMPL(actops, CPU, m) {
  m.impl("swish", &swish_cpu);
  m.impl("swish_backward", &swish_backward_cpu);
  m.impl("swish_double_backward", &swish_double_backward_cpu);
  m.impl("swish_learnable", &swish_learnable_cpu);
  m.impl("swish_learnable_backward", &swish_learnable_backward_cpu);
  m.impl("swish_learnable_double_backward", &swish_learnable_double_backward_cpu);
}

TORCH_LIBRARY_IMPL(actops, Meta, m) {
  m.impl("swish", &swish_meta);
  m.impl("swish_backward", &swish_backward_meta);
  m.impl("swish_double_backward", &swish_double_backward_meta);
  m.impl("swish_learnable", &swish_learnable_meta);
  m.impl("swish_learnable_backward", &swish_learnable_backward_meta);
  m.impl("swish_learnable_double_backward", &swish_learnable_double_backward_meta);
}

}  // namespace actops
