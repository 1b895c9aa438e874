// Entry points shared by the element-wise activations: argument checks,
// output allocation and the TensorIterators that feed the CPU kernels, and
// their Meta (shape-only) twins for fake tensors and torch.compile. Outputs
// keep x's layout (channels_last stays channels_last) in both, so fake and
// real strides agree.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <tuple>

#include "ops/cpu/kernels.h"

namespace actops {

// The typed dispatcher handle of "actops::<name>", for the C++ API.
template <typename Signature>
c10::TypedOperatorHandle<Signature> find_op(const char* name, const char* overload = "") {
  return c10::Dispatcher::singleton().findSchemaOrThrow(name, overload).typed<Signature>();
}

// Rejects undefined tensors and every dtype but float32/float64/bfloat16/
// float16, naming the op, the argument and the dtype.
void check_floating(const at::Tensor& t, const char* op, const char* arg);

// `other` must be usable element by element with x: same dtype and device,
// and, when `exact_shape`, the same shape, else a shape that broadcasts to
// x's without changing it (a learnable parameter: one value or per channel).
void check_like(
    const at::Tensor& other, const at::Tensor& x, const char* op, const char* arg, bool exact_shape);

using cpu::Params;
using cpu::Pass;
using Stub = cpu::KernelStub<cpu::kernel_fn>;

// f(x).
at::Tensor activation_cpu(const at::Tensor& x, const Stub& stub, const Params& params, const char* op);
at::Tensor activation_meta(const at::Tensor& x, const char* op);

// grad * f'(x) (pass First) or grad * f''(x) (pass Second).
at::Tensor activation_gradient_cpu(
    const at::Tensor& grad, const at::Tensor& x, const Stub& stub, Pass pass, const Params& params, const char* op);
at::Tensor activation_gradient_meta(const at::Tensor& grad, const at::Tensor& x, const char* op);

// Ops with a tensor parameter p (swish's beta, trelu's alpha), broadcast to x
// (the caller has checked both): f(x, p), and its Meta twin.
at::Tensor parametric_cpu(const at::Tensor& x, const at::Tensor& p, const Stub& stub, const Params& params);
at::Tensor parametric_meta(const at::Tensor& x);

// A backward pass with several gradients in one sweep: `inputs` (each of
// `like`'s shape or broadcast to it) in, one `like`-shaped output per entry
// of `shapes_of` out, each then summed to that tensor's shape (a no-op where
// the shapes agree): how broadcast parameters get their gradients.
std::vector<at::Tensor> gradients_cpu(
    at::TensorList inputs, const at::Tensor& like, at::TensorList shapes_of, const Stub& stub, Pass pass,
    Params params);
std::vector<at::Tensor> gradients_meta(const at::Tensor& like, at::TensorList shapes_of);

// swiglu's packed layout: the [gate | up] halves of x along dim, as views
// (checks: floating x, dim in range, even size).
std::tuple<at::Tensor, at::Tensor> swiglu_halves(const at::Tensor& x, int64_t dim, const char* op);

}  // namespace actops
