// trelu with a fixed alpha on CUDA: the forward (the op table's unary loop
// over math::TRelu), the forward that also writes the 1-byte mask
// x > threshold, and the backward from that mask.
#include "ops/cuda/loops.cuh"
#include "ops/math/trelu.h"

namespace actops::cuda {

// x -> out
void trelu_kernel(at::TensorIteratorBase& iter, double threshold, double alpha) {
  unary_loop<Pass::Value>(iter, math::TRelu{threshold, alpha});
}

// x -> (out, mask = x > threshold), one pass.
void trelu_with_mask_kernel(at::TensorIteratorBase& iter, double threshold, double alpha) {
  const math::TRelu m{threshold, alpha};
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, iter.input_dtype(0), "actops_trelu_with_mask_cuda", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    at::native::gpu_kernel_multiple_outputs(iter, [m] GPU_LAMBDA(scalar_t x) -> thrust::tuple<scalar_t, bool> {
      const auto v = static_cast<opmath_t>(x);
      return {static_cast<scalar_t>(m.forward(v)), m.above(v)};
    });
  });
}

// (grad, mask) -> grad f'(x)
void trelu_masked_gradient_kernel(at::TensorIteratorBase& iter, double alpha) {
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, iter.dtype(0), "actops_trelu_backward_cuda", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const auto a = static_cast<opmath_t>(alpha);
    at::native::gpu_kernel(iter, [a] GPU_LAMBDA(scalar_t grad, bool above) -> scalar_t {
      return static_cast<scalar_t>(static_cast<opmath_t>(grad) * math::trelu_masked_derivative(above, a));
    });
  });
}

}  // namespace actops::cuda
