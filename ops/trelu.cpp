// trelu with a fixed alpha: the forward with and without the 1-byte mask
// x > threshold, and the backward from that mask (not from x); the out=
// overload trelu.out and the in-place trelu_ (with trelu_with_mask_, its
// training form: x overwritten, its mask returned). The learnable
// form (tensor alpha) is a row of the op table. Math: ops/math/trelu.h; CPU
// loops: ops/cpu/trelu_kernel.cpp; CUDA: ops/cuda/trelu_kernel.cu; autograd:
// autograd/trelu.cpp.
#include <ATen/TensorIterator.h>
#include <ATen/native/Resize.h>

#include "ops/kernel_stubs.h"
#include "ops/op_support.h"
#include "ops/out_forms.h"
#include "ops/registration.h"

namespace actops {
namespace {

constexpr const char* kTrelu = "actops.trelu";
constexpr const char* kWithMask = "actops.trelu_with_mask";
constexpr const char* kBackward = "actops.trelu_backward";
constexpr const char* kInplace = "actops.trelu_";
constexpr const char* kWithMaskInplace = "actops.trelu_with_mask_";

using Pair = std::tuple<at::Tensor, at::Tensor>;

void check_mask(const at::Tensor& mask, const at::Tensor& grad, const char* op) {
  check_floating(grad, op, "grad");
  TORCH_CHECK(mask.defined(), op, ": mask is an undefined tensor");
  TORCH_CHECK_TYPE(mask.scalar_type() == at::kBool, op, ": mask must be a bool tensor, got dtype ",
                   dtype_name(mask.scalar_type()));
  TORCH_CHECK(mask.sym_sizes() == grad.sym_sizes(), op, ": mask has shape ", mask.sym_sizes(), " but grad has shape ",
              grad.sym_sizes());
  check_same_device(mask, grad, op, "mask", "grad");
}

at::Tensor trelu_kernel(const at::Tensor& x, double threshold, double alpha) {
  check_floating(x, kTrelu, "x");
  at::Tensor out = empty_like_preserving(x);
  auto iter = at::TensorIteratorConfig().add_output(out).add_const_input(x).build();
  launch(trelu_stub, kTrelu, iter.device(), iter, threshold, alpha);
  return out;
}
at::Tensor trelu_meta(const at::Tensor& x, double /*threshold*/, double /*alpha*/) {
  check_floating(x, kTrelu, "x");
  return empty_like_preserving(x);
}

at::Tensor& trelu_out_kernel(const at::Tensor& x, double threshold, double alpha, at::Tensor& out) {
  check_floating(x, kTrelu, "x");
  check_out(out, x.scalar_type(), x, kTrelu);
  check_out_overlap(out, x, "x", kTrelu);
  auto iter = at::TensorIteratorConfig().add_output(out).add_const_input(x).build();
  launch(trelu_stub, kTrelu, iter.device(), iter, threshold, alpha);
  return out;
}
at::Tensor& trelu_out_meta(const at::Tensor& x, double /*threshold*/, double /*alpha*/, at::Tensor& out) {
  check_floating(x, kTrelu, "x");
  check_out(out, x.scalar_type(), x, kTrelu);
  at::native::resize_output_symint(out, x.sym_sizes());
  return out;
}

at::Tensor& trelu_inplace_kernel(at::Tensor& x, double threshold, double alpha) {
  check_floating(x, kInplace, "x");
  auto iter = at::TensorIteratorConfig().add_output(x).add_const_input(x).build();
  launch(trelu_stub, kInplace, iter.device(), iter, threshold, alpha);
  return x;
}
at::Tensor& trelu_inplace_meta(at::Tensor& x, double /*threshold*/, double /*alpha*/) {
  check_floating(x, kInplace, "x");
  return x;
}

// x overwritten with trelu(x), and the mask of the values it held returned:
// one pass. (Only the mask is returned: a schema returning x's alias beside a
// new tensor is one that torch.compile's aliasing checks refuse.)
at::Tensor trelu_with_mask_inplace_kernel(at::Tensor& x, double threshold, double alpha) {
  check_floating(x, kWithMaskInplace, "x");
  at::Tensor mask = empty_like_preserving(x, at::kBool);
  auto iter =
      at::TensorIteratorConfig().check_all_same_dtype(false).add_output(x).add_output(mask).add_const_input(x).build();
  launch(trelu_with_mask_stub, kWithMaskInplace, iter.device(), iter, threshold, alpha);
  return mask;
}
at::Tensor trelu_with_mask_inplace_meta(at::Tensor& x, double /*threshold*/, double /*alpha*/) {
  check_floating(x, kWithMaskInplace, "x");
  return empty_like_preserving(x, at::kBool);
}

Pair trelu_with_mask_kernel(const at::Tensor& x, double threshold, double alpha) {
  check_floating(x, kWithMask, "x");
  at::Tensor out = empty_like_preserving(x);
  at::Tensor mask = empty_like_preserving(x, at::kBool);
  auto iter = at::TensorIteratorConfig()
                  .check_all_same_dtype(false)
                  .add_output(out)
                  .add_output(mask)
                  .add_const_input(x)
                  .build();
  launch(trelu_with_mask_stub, kWithMask, iter.device(), iter, threshold, alpha);
  return {out, mask};
}
Pair trelu_with_mask_meta(const at::Tensor& x, double /*threshold*/, double /*alpha*/) {
  check_floating(x, kWithMask, "x");
  return {empty_like_preserving(x), empty_like_preserving(x, at::kBool)};
}

at::Tensor trelu_backward_kernel(const at::Tensor& grad, const at::Tensor& mask, double alpha) {
  check_mask(mask, grad, kBackward);
  at::Tensor out = empty_like_preserving(grad);
  auto iter = at::TensorIteratorConfig()
                  .check_all_same_dtype(false)
                  .add_output(out)
                  .add_const_input(grad)
                  .add_const_input(mask)
                  .build();
  launch(trelu_masked_gradient_stub, kBackward, iter.device(), iter, alpha);
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
  register_device_kernel(m, "trelu", &trelu_kernel);
  register_device_kernel(m, "trelu_with_mask", &trelu_with_mask_kernel);
  register_device_kernel(m, "trelu_backward", &trelu_backward_kernel);
  register_kernel(m, "trelu", c10::DispatchKey::Meta, &trelu_meta);
  register_kernel(m, "trelu_with_mask", c10::DispatchKey::Meta, &trelu_with_mask_meta);
  register_kernel(m, "trelu_backward", c10::DispatchKey::Meta, &trelu_backward_meta);
  m.def("trelu.out(Tensor x, float threshold=1.0, float alpha=0.0, *, Tensor(a!) out) -> Tensor(a!)", out_tags());
  register_device_kernel(m, "trelu.out", &trelu_out_kernel);
  register_kernel(m, "trelu.out", c10::DispatchKey::Meta, &trelu_out_meta);
  register_out_autograd(m, "trelu.out");
  m.def("trelu_(Tensor(a!) x, float threshold=1.0, float alpha=0.0) -> Tensor(a!)", inplace_tags());
  m.def("trelu_with_mask_(Tensor(a!) x, float threshold=1.0, float alpha=0.0) -> Tensor mask", op_tags());
  register_device_kernel(m, "trelu_", &trelu_inplace_kernel);
  register_kernel(m, "trelu_", c10::DispatchKey::Meta, &trelu_inplace_meta);
  register_device_kernel(m, "trelu_with_mask_", &trelu_with_mask_inplace_kernel);
  register_kernel(m, "trelu_with_mask_", c10::DispatchKey::Meta, &trelu_with_mask_inplace_meta);
  register_inplace_view(m, "trelu_");
  register_inplace_view(m, "trelu_with_mask_");
}

}  // namespace actops
