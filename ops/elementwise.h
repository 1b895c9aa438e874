// Entry points shared by the element-wise activations: argument checks,
// output allocation and the TensorIterator that feeds the CPU kernels, and
// their Meta (shape-only) twins for fake tensors and torch.compile.
#pragma once

#include <ATen/core/Tensor.h>

#include "ops/cpu/kernels.h"

namespace actops {

// Rejects undefined tensors and every dtype but float32/float64/bfloat16/
// float16, naming the op, the argument and the dtype.
void check_floating(const at::Tensor& t, const char* op, const char* arg);

// A gradient must match its input: same dtype, same shape, same device.
void check_gradient(const at::Tensor& grad, const at::Tensor& x, const char* op);

// f(x) with `stub`'s CPU kernel; the output keeps x's layout (channels_last
// stays channels_last), so it matches activation_meta's strides.
at::Tensor activation_cpu(
    const at::Tensor& x, const cpu::KernelStub<cpu::activation_fn>& stub, const char* op);

// grad * f'(x) (order First) or grad * f''(x) (order Second).
at::Tensor activation_gradient_cpu(
    const at::Tensor& grad,
    const at::Tensor& x,
    const cpu::KernelStub<cpu::activation_fn>& stub,
    cpu::Order order,
    const char* op);

at::Tensor activation_meta(const at::Tensor& x, const char* op);
at::Tensor activation_gradient_meta(const at::Tensor& grad, const at::Tensor& x, const char* op);

}  // namespace actops
