// trelu with fixed alpha (saves a 1-byte mask) and with a tensor alpha
// (learnable, broadcast to x): the C++ API and the CPU and Meta kernels.
// Math: ops/math/trelu.h; CPU loops: ops/cpu/trelu_kernel.cpp; autograd:
// autograd/trelu.cpp.
#include <ATen/TensorIterator.h>
#include <ATen/ops/empty_like.h>
#include <torch/library.h>

#include "actops/actops.h"
#include "ops/elementwise.h"

namespace actops {

namespace {

constexpr const char* kTrelu = "actops.trelu";
constexpr const char* kWithMask = "actops.trelu_with_mask";
constexpr const char* kBackward = "actops.trelu_backward";
constexpr const char* kLearnable = "actops.trelu_learnable";
constexpr const char* kLearnableBackward = "actops.trelu_learnable_backward";

Params trelu_params(double threshold, double alpha) {
  Params params;
  params.threshold = threshold;
  params.alpha = alpha;
  return params;
}

using Pair = std::tuple<at::Tensor, at::Tensor>;

void check_mask(const at::Tensor& mask, const at::Tensor& grad, const char* op) {
  check_floating(grad, op, "grad");
  TORCH_CHECK(mask.defined(), op, ": mask is an undefined tensor");
  TORCH_CHECK_TYPE(
      mask.scalar_type() == at::kBool, op, ": mask must be a bool tensor, got dtype ",
      c10::getDtypeNames(mask.scalar_type()).first);
  TORCH_CHECK(
      mask.sym_sizes() == grad.sym_sizes(), op, ": mask has shape ", mask.sym_sizes(),
      " but grad has shape ", grad.sym_sizes());
  TORCH_CHECK(mask.device() == grad.device(), op, ": mask is on ", mask.device(), " but grad is on ", grad.device());
}

at::Tensor trelu_cpu(const at::Tensor& x, double threshold, double alpha) {
  return activation_cpu(x, cpu::trelu_stub, trelu_params(threshold, alpha), kTrelu);
}
Pair trelu_with_mask_cpu(const at::Tensor& x, double threshold, double alpha) {
  check_floating(x, kWithMask, "x");
  at::Tensor out = at::empty_like(x, at::MemoryFormat::Preserve);
  at::Tensor mask = at::empty_like(x, x.options().dtype(at::kBool), at::MemoryFormat::Preserve);
  auto iter = at::TensorIteratorConfig()
                  .check_all_same_dtype(false)
                  .add_output(out)
                  .add_output(mask)
                  .add_const_input(x)
                  .build();
  cpu::trelu_stub(iter, Pass::ValueWithMask, trelu_params(threshold, alpha));
  return {out, mask};
}
at::Tensor trelu_backward_cpu(const at::Tensor& grad, const at::Tensor& mask, double alpha) {
  check_mask(mask, grad, kBackward);
  at::Tensor out = at::empty_like(grad, at::MemoryFormat::Preserve);
  auto iter = at::TensorIteratorConfig()
                  .check_all_same_dtype(false)
                  .add_output(out)
                  .add_const_input(grad)
                  .add_const_input(mask)
                  .build();
  cpu::trelu_stub(iter, Pass::MaskedGradient, trelu_params(0.0, alpha));
  return out;
}

at::Tensor trelu_meta(const at::Tensor& x, double /*threshold*/, double /*alpha*/) {
  return activation_meta(x, kTrelu);
}
Pair trelu_with_mask_meta(const at::Tensor& x, double /*threshold*/, double /*alpha*/) {
  check_floating(x, kWithMask, "x");
  return {
      at::empty_like(x, at::MemoryFormat::Preserve),
      at::empty_like(x, x.options().dtype(at::kBool), at::MemoryFormat::Preserve)};
}
at::Tensor trelu_backward_meta(const at::Tensor& grad, const at::Tensor& mask, double /*alpha*/) {
  check_mask(mask, grad, kBackward);
  return at::empty_like(grad, at::MemoryFormat::Preserve);
}

void check_learnable(const at::Tensor& x, const at::Tensor& alpha, const char* op) {
  check_floating(x, op, "x");
  check_like(alpha, x, op, "alpha", /*exact_shape=*/false);
}

at::Tensor trelu_learnable_cpu(const at::Tensor& x, const at::Tensor& alpha, double threshold) {
  check_learnable(x, alpha, kLearnable);
  return parametric_cpu(x, alpha, cpu::trelu_learnable_stub, trelu_params(threshold, 0.0));
}
Pair trelu_learnable_backward_cpu(
    const at::Tensor& grad, const at::Tensor& x, const at::Tensor& alpha, double threshold) {
  check_learnable(x, alpha, kLearnableBackward);
  check_like(grad, x, kLearnableBackward, "grad", /*exact_shape=*/true);
  auto out = gradients_cpu(
      {grad, x, alpha}, x, {x, alpha}, cpu::trelu_learnable_stub, Pass::First, trelu_params(threshold, 0.0));
  return {out[0], out[1]};
}
at::Tensor trelu_learnable_meta(const at::Tensor& x, const at::Tensor& alpha, double /*threshold*/) {
  check_learnable(x, alpha, kLearnable);
  return parametric_meta(x);
}
Pair trelu_learnable_backward_meta(
    const at::Tensor& grad, const at::Tensor& x, const at::Tensor& alpha, double /*threshold*/) {
  check_learnable(x, alpha, kLearnableBackward);
  check_like(grad, x, kLearnableBackward, "grad", /*exact_shape=*/true);
  auto out = gradients_meta(x, {x, alpha});
  return {out[0], out[1]};
}

}  // namespace

at::Tensor trelu(const at::Tensor& x, double threshold, double alpha) {
  static const auto op = find_op<at::Tensor(const at::Tensor&, double, double)>("actops::trelu");
  return op.call(x, threshold, alpha);
}
Pair trelu_with_mask(const at::Tensor& x, double threshold, double alpha) {
  static const auto op = find_op<Pair(const at::Tensor&, double, double)>("actops::trelu_with_mask");
  return op.call(x, threshold, alpha);
}
at::Tensor trelu_backward(const at::Tensor& grad, const at::Tensor& mask, double alpha) {
  static const auto op = find_op<at::Tensor(const at::Tensor&, const at::Tensor&, double)>("actops::trelu_backward");
  return op.call(grad, mask, alpha);
}
at::Tensor trelu(const at::Tensor& x, const at::Tensor& alpha, double threshold) {
  static const auto op =
      find_op<at::Tensor(const at::Tensor&, const at::Tensor&, double)>("actops::trelu_learnable");
  return op.call(x, alpha, threshold);
}
Pair trelu_learnable_backward(const at::Tensor& grad, const at::Tensor& x, const at::Tensor& alpha, double threshold) {
  static const auto op = find_op<Pair(const at::Tensor&, const at::Tensor&, const at::Tensor&, double)>(
      "actops::trelu_learnable_backward");
  return op.call(grad, x, alpha, threshold);
}

TORCH_LIBRARY_IMPL(actops, CPU, m) {
  m.impl("trelu", &trelu_cpu);
  m.impl("trelu_with_mask", &trelu_with_mask_cpu);
  m.impl("trelu_backward", &trelu_backward_cpu);
  m.impl("trelu_learnable", &trelu_learnable_cpu);
  m.impl("trelu_learnable_backward", &trelu_learnable_backward_cpu);
}

TORCH_LIBRARY_IMPL(actops, Meta, m) {
  m.impl("trelu", &trelu_meta);
  m.impl("trelu_with_mask", &trelu_with_mask_meta);
  m.impl("trelu_backward", &trelu_backward_meta);
  m.impl("trelu_learnable", &trelu_learnable_meta);
  m.impl("trelu_learnable_backward", &trelu_learnable_backward_meta);
}

}  // namespace actops
