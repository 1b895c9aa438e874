// The CPU kernel stubs of every op, filled by ops/cpu/<op>_kernel.cpp.
#pragma once

#include "ops/cpu/kernel_stub.h"

#include <cstdint>

namespace at {
class Tensor;
struct TensorIteratorBase;
}  // namespace at

namespace actops::cpu {

// Which pass a kernel runs. Element-wise ops: Value is f(x) (for ops with a
// tensor parameter p: f(x, p)), First the backward, Second the double
// backward. TReLU adds ValueWithMask (f(x) and the 1-byte mask x > threshold)
// and MaskedGradient (grad and mask in, grad * f'(x) out).
enum class Pass : int { Value, First, Second, ValueWithMask, MaskedGradient };

// The scalar hyper-parameters of the ops (each op reads its own).
struct Params {
  double beta = 1.0;       // swish
  double threshold = 0.0;  // trelu
  double alpha = 0.0;      // trelu
  bool tanh = false;       // gelu: the tanh approximation
  // A gradient pass of an op with a tensor parameter that is a single value:
  // the parameter's gradient, summed by the kernel, goes here instead of to
  // the iterator's last output.
  double* parameter_gradient = nullptr;
};

using kernel_fn = void (*)(at::TensorIteratorBase&, Pass, const Params&);

extern KernelStub<kernel_fn> mish_stub;
extern KernelStub<kernel_fn> gelu_stub;
extern KernelStub<kernel_fn> swish_stub;
extern KernelStub<kernel_fn> swish_learnable_stub;
extern KernelStub<kernel_fn> trelu_stub;
extern KernelStub<kernel_fn> trelu_learnable_stub;
extern KernelStub<kernel_fn> swiglu_stub;

// Maxout on contiguous tensors viewed as (outer, groups, pieces, inner):
// each (outer, group, inner) takes the maximum over its `pieces` values.
struct MaxoutShape {
  int64_t outer, groups, pieces, inner;
};
// x -> (out, indices of the first maximum), out and indices (outer, groups,
// inner); indices may be undefined, and are then not computed
using maxout_forward_fn = void (*)(const at::Tensor& x, at::Tensor& out, at::Tensor& indices, const MaxoutShape&);
// (grad, indices) -> grad_x, each group's grad at its index and 0 elsewhere
using maxout_backward_fn =
    void (*)(const at::Tensor& grad, const at::Tensor& indices, at::Tensor& grad_x, const MaxoutShape&);
extern KernelStub<maxout_forward_fn> maxout_forward_stub;
extern KernelStub<maxout_backward_fn> maxout_backward_stub;

}  // namespace actops::cpu
