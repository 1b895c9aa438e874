// actops: activation-function operators for PyTorch and LibTorch.
//
// Every function here calls the registered op through the PyTorch dispatcher,
// so it runs the kernel for the tensor's device, records autograd when an
// input requires grad, and is the same op that Python (torch.ops.actops.*)
// and TorchScript see. Link the CMake target actops::actops.
#pragma once

#include <ATen/core/Tensor.h>

#if defined(__GNUC__)
#define ACTOPS_API __attribute__((visibility("default")))
#else
#define ACTOPS_API
#endif

namespace actops {

// mish(x) = x * tanh(softplus(x)), element-wise. Floating dtypes only
// (float32, float64, bfloat16, float16); any shape and layout.
ACTOPS_API at::Tensor mish(const at::Tensor& x);

// grad * mish'(x): the backward of mish, itself differentiable.
ACTOPS_API at::Tensor mish_backward(const at::Tensor& grad, const at::Tensor& x);

// grad * mish''(x): used by the double backward of mish.
ACTOPS_API at::Tensor mish_double_backward(const at::Tensor& grad, const at::Tensor& x);

// The CPU instruction set the kernels run with on this machine
// ("AVX512", "AVX2" or "DEFAULT").
ACTOPS_API const char* cpu_capability();

}  // namespace actops
