// trelu with a fixed alpha: the forward with and without the 1-byte mask
// x > threshold, and the backward from that mask (not from x). The learnable
// form (tensor alpha) is a row of the op table. Math: ops/math/trelu.h; CPU
// loops: ops/cpu/trelu_kernel.cpp; autograd: autograd/trelu.cpp.
#include <ATen/TensorIterator.h>

#include "ops/cpu/kernel_stubs.h"
#include "ops/op_support.h"
#include "ops/registration.h"

namespace actops {
namespace {

constexpr const char* kTrelu = "actops.trelu";
constexpr const char* kWithMask = "actops.trelu_with_mask";
constexpr const char* kBackward = "actops.trelu_backward";

using Pair = std::tuple<at::Tensor, at::Tensor>;

void check_mask(const at::Tensor& mask, const at::Tensor& grad, const char* op) {
  check_floating(grad, op, "grad");
  TORCH_CHECK(mask.defined(), op, ": mask is an undefined tensor");
  TORCH_CHECK_TYPE(
      mask.scalar_type() == at::kBool, op, ": mask must be a bool tensor, got dtype ", dtype_name(mask.scalar_type()));
  TORCH_CHECK(
      mask.sym_sizes() == grad.sym_sizes(), op, ": mask has shape ", mask.sym_sizes(), " but grad has shape ",
      grad.sym_sizes());
  check_same_device(mask, grad, op, "mask", "grad");
}

at::Tensor trelu_cpu(const at::Tensor& x, double threshold, double alpha) {
  check_floating(x, kTrelu, "x");
  at::Tensor out = empty_like_preserving(x);
  auto iter = at::TensorIteratorConfig().add_output(out).add_const_input(x).build();
  cpu::trelu_stub.select(kTrelu)(iter, threshold, alpha);
  return out;
}
at::Tensor trelu_meta(const at::Tensor& x, double /*threshold*/, double /*alpha*/) {
  check_floating(x, kTrelu, "x");
  return empty_like_preserving(x);
}

Pair trelu_with_mask_cpu(const at::Tensor& x, double threshold, double alpha) {
  check_floating(x, kWithMask, "x");
  at::Tensor out = empty_like_preserving(x);
  at::Tensor mask = empty_like_preserving(x, at::kBool);
  auto iter = at::TensorIteratorConfig()
                  .check_all_same_dtype(false)
                  .add_output(out)
                  .add_output(mask)
                  .add_const_input(x)
                  .build();
  cpu::trelu_with_mask_stub.select(kWithMask)(iter, threshold, alpha);
  return {out, mask};
}
Pair trelu_with_mask_meta(const at::Tensor& x, double /*threshold*/, double /*alpha*/) {
  check_floating(x, kWithMask, "x");
  return {empty_like_preserving(x), empty_like_preserving(x, at::kBool)};
}

at::Tensor trelu_backward_cpu(const at::Tensor& grad, const at::Tensor& mask, double alpha) {
  check_mask(mask, grad, kBackward);
  at::Tensor out = empty_like_preserving(grad);
  auto iter = at::TensorIteratorConfig()
                  .check_all_same_dtype(false)
                  .add_output(out)
                  .add_const_input(grad)
                  .add_const_input(mask)
                  .build();
  cpu::trelu_masked_gradient_stub.select(kBackward)(iter, alpha);
  return out;
}
at::Tensor trelu_backward_meta(const at::Tensor& grad, const at::Tensor& mask, double /*alpha*/) {
  check_mask(mask, grad, kBackward);
  return empty_like_preserving(grad);
}

}  // namespace

void define_trelu_mask_ops(torch::Library& m) {
  m.def("trelu(Tensor x, float threshold=1.0, float alpha=0.0) -> Tensor", op_tags());
  m.def("trelu_with_mask(Tensor x, float threshold=1.0, float alpha=0.0) -> (Tensor out, Tensor mask)", op_tags());
  m.def("trelu_backward(Tensor grad, Tensor mask, float alpha) -> Tensor", op_tags());
  register_kernel(m, "trelu", c10::DispatchKey::CPU, &trelu_cpu);
  register_kernel(m, "trelu_with_mask", c10::DispatchKey::CPU, &trelu_with_mask_cpu);
  register_kernel(m, "trelu_backward", c10::DispatchKey::CPU, &trelu_backward_cpu);
  register_kernel(m, "trelu", c10::DispatchKey::Meta, &trelu_meta);
  register_kernel(m, "trelu_with_mask", c10::DispatchKey::Meta, &trelu_with_mask_meta);
  register_kernel(m, "trelu_backward", c10::DispatchKey::Meta, &trelu_backward_meta);
  register_trelu_mask_autograd(m);
}

}  // namespace actops
