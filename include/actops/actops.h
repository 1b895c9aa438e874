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

// swiglu(gate, up) = swish(gate) * up, gate and up broadcast as torch.mul;
// gradients are reduced back to each input's shape.
ACTOPS_API at::Tensor swiglu(const at::Tensor& gate, const at::Tensor& up);
ACTOPS_API std::tuple<at::Tensor, at::Tensor> swiglu_backward(
    const at::Tensor& grad, const at::Tensor& gate, const at::Tensor& up);
ACTOPS_API std::tuple<at::Tensor, at::Tensor, at::Tensor> swiglu_double_backward(
    const at::Tensor& gg_gate, const at::Tensor& gg_up, const at::Tensor& grad, const at::Tensor& gate,
    const at::Tensor& up);
// Packed layout: x holds [gate | up] halves along dim (as a fused gate-and-up
// projection writes them); the output has half its size there. The halves
// are read in place.
ACTOPS_API at::Tensor swiglu(const at::Tensor& x, int64_t dim);
ACTOPS_API at::Tensor swiglu_packed_backward(const at::Tensor& grad, const at::Tensor& x, int64_t dim = -1);

// maxout(x, pieces, dim): the size C*pieces of dim split into C groups of
// `pieces` consecutive elements, each giving its maximum; equals
// x.unflatten(dim, {C, pieces}).amax(dim + 1). The backward sends each group's
// gradient to its first maximum.
ACTOPS_API at::Tensor maxout(const at::Tensor& x, int64_t pieces, int64_t dim = 1);
// The output and the index of each group's first maximum, in the smallest
// integer dtype that holds pieces (uint8 up to 256 pieces).
ACTOPS_API std::tuple<at::Tensor, at::Tensor> maxout_with_indices(const at::Tensor& x, int64_t pieces, int64_t dim = 1);
ACTOPS_API at::Tensor maxout_backward(const at::Tensor& grad, const at::Tensor& indices, int64_t pieces, int64_t dim = 1);

// The CPU instruction set the kernels run with on this machine
// ("AVX512", "AVX2" or "DEFAULT").
ACTOPS_API const char* cpu_capability();

}  // namespace actops
