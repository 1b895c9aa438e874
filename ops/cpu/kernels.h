// The CPU kernel stubs of every op, filled by ops/cpu/<op>_kernel.cpp.
#pragma once

#include "ops/cpu/kernel_stub.h"

namespace at {
struct TensorIteratorBase;
}

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
};

using kernel_fn = void (*)(at::TensorIteratorBase&, Pass, const Params&);

extern KernelStub<kernel_fn> mish_stub;
extern KernelStub<kernel_fn> gelu_stub;
extern KernelStub<kernel_fn> swish_stub;
extern KernelStub<kernel_fn> swish_learnable_stub;
extern KernelStub<kernel_fn> trelu_stub;
extern KernelStub<kernel_fn> trelu_learnable_stub;

}  // namespace actops::cpu
