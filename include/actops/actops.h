// actops: activation-function operators for PyTorch and LibTorch.
//
// Every function here calls the registered op through the PyTorch dispatcher,
// so it runs the kernel for the tensor's device, records autograd when an
// input requires grad, and is the same op that Python (torch.ops.actops.*)
// and TorchScript see. Link the CMake target actops::actops.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/string_view.h>

#include <tuple>

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

// gelu(x) = x * Phi(x); approximate "none" (erf, exact) or "tanh":
// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), as torch.nn.functional.gelu.
ACTOPS_API at::Tensor gelu(const at::Tensor& x, c10::string_view approximate = "none");
ACTOPS_API at::Tensor gelu_backward(const at::Tensor& grad, const at::Tensor& x, c10::string_view approximate = "none");
ACTOPS_API at::Tensor gelu_double_backward(
    const at::Tensor& grad, const at::Tensor& x, c10::string_view approximate = "none");

// swish(x; beta) = x * sigmoid(beta x); beta = 1 is SiLU.
// Fixed beta: no work is done for a beta gradient.
ACTOPS_API at::Tensor swish(const at::Tensor& x, double beta = 1.0);
ACTOPS_API at::Tensor swish_backward(const at::Tensor& grad, const at::Tensor& x, double beta = 1.0);
ACTOPS_API at::Tensor swish_double_backward(const at::Tensor& grad, const at::Tensor& x, double beta = 1.0);
// Tensor beta (learnable): broadcastable to x (one value, or one per channel
// shaped to broadcast); gradients flow to x and beta (reduced to its shape).
ACTOPS_API at::Tensor swish(const at::Tensor& x, const at::Tensor& beta);
ACTOPS_API std::tuple<at::Tensor, at::Tensor> swish_learnable_backward(
    const at::Tensor& grad, const at::Tensor& x, const at::Tensor& beta);
ACTOPS_API std::tuple<at::Tensor, at::Tensor, at::Tensor> swish_learnable_double_backward(
    const at::Tensor& gg_x, const at::Tensor& gg_beta, const at::Tensor& grad, const at::Tensor& x,
    const at::Tensor& beta);

// trelu(x; threshold, alpha) = x where x > threshold, alpha * x elsewhere.
// Fixed alpha: the backward keeps a 1-byte mask, not x.
ACTOPS_API at::Tensor trelu(const at::Tensor& x, double threshold = 1.0, double alpha = 0.0);
ACTOPS_API std::tuple<at::Tensor, at::Tensor> trelu_with_mask(
    const at::Tensor& x, double threshold = 1.0, double alpha = 0.0);
ACTOPS_API at::Tensor trelu_backward(const at::Tensor& grad, const at::Tensor& mask, double alpha = 0.0);
// Tensor alpha (learnable), broadcastable to x like swish's beta.
ACTOPS_API at::Tensor trelu(const at::Tensor& x, const at::Tensor& alpha, double threshold = 1.0);
ACTOPS_API std::tuple<at::Tensor, at::Tensor> trelu_learnable_backward(
    const at::Tensor& grad, const at::Tensor& x, const at::Tensor& alpha, double threshold = 1.0);

// The CPU instruction set the kernels run with on this machine
// ("AVX512", "AVX2" or "DEFAULT").
ACTOPS_API const char* cpu_capability();

}  // namespace actops
