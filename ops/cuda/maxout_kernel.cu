// maxout on CUDA, over contiguous tensors viewed as (outer, groups, pieces,
// inner) as on the CPU: one thread per output in the forward (its group's
// first maximum and that maximum's index), one thread per element of grad_x
// in the backward (the gradient where the group's index points, 0
// elsewhere), so that every element is written once, without atomics.
// Indexing is 64-bit throughout, in grid-stride loops.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/ceil_div.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/macros/Macros.h>

#include <algorithm>
#include <cstdint>

#include "ops/cuda/kernels.h"
#include "ops/math/maxout.h"

namespace actops::cuda {
namespace {

constexpr int kThreads = 256;

// Enough blocks to fill the GPU a few times over; grid-stride loops do the rest.
int64_t blocks_for(int64_t n) {
  const int64_t per_wave = static_cast<int64_t>(at::cuda::getCurrentDeviceProperties()->multiProcessorCount) * 16;
  return std::max<int64_t>(1, std::min<int64_t>(at::ceil_div<int64_t>(n, kThreads), per_wave));
}

template <typename scalar_t, typename index_t>
__global__ void maxout_forward_cuda(const scalar_t* __restrict__ x, scalar_t* __restrict__ out,
                                    index_t* __restrict__ indices, int64_t n, int64_t pieces, int64_t inner) {
  using opmath_t = at::opmath_type<scalar_t>;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const int64_t row = i / inner;  // (outer, group)
    const scalar_t* group = x + (row * pieces) * inner + (i - row * inner);
    scalar_t best = group[0];
    opmath_t best_value = static_cast<opmath_t>(best);
    int64_t arg = 0;
    for (int64_t j = 1; j < pieces; ++j) {
      const scalar_t v = group[j * inner];
      const opmath_t value = static_cast<opmath_t>(v);
      if (math::maxout_replaces(value, best_value)) {
        best = v;
        best_value = value;
        arg = j;
      }
    }
    out[i] = best;
    if (indices != nullptr) {
      indices[i] = static_cast<index_t>(arg);
    }
  }
}

template <typename scalar_t, typename index_t>
__global__ void maxout_backward_cuda(const scalar_t* __restrict__ grad, const index_t* __restrict__ indices,
                                     scalar_t* __restrict__ grad_x, int64_t n, int64_t pieces, int64_t inner) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const int64_t slice = i / inner;  // (outer, group, piece)
    const int64_t row = slice / pieces;
    const int64_t piece = slice - row * pieces;
    const int64_t at = row * inner + (i - slice * inner);  // (outer, group, inner) of grad and indices
    const auto j = static_cast<int64_t>(indices[at]);
    // an index that the caller passed must pick one of the pieces, as the
    // CPU kernel checks: a device-side assert here, as ATen's index kernels
    CUDA_KERNEL_ASSERT(j >= 0 && j < pieces && "actops.maxout_backward: an index is out of range for the pieces");
    grad_x[i] = j == piece ? grad[at] : scalar_t(0);
  }
}

}  // namespace

void maxout_forward_kernel(const at::Tensor& x, at::Tensor& out, at::Tensor& indices, const MaxoutShape& s) {
  const int64_t n = out.numel();
  if (n == 0) {
    return;
  }
  const auto stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, x.scalar_type(), "actops_maxout_cuda", [&] {
    // Without `indices` (a forward that records no gradient) only the values
    // are written.
    math::dispatch_maxout_index(indices.defined() ? indices.scalar_type() : at::kByte, [&](auto index_tag) {
      using index_t = decltype(index_tag);
      index_t* idx = indices.defined() ? indices.mutable_data_ptr<index_t>() : nullptr;
      maxout_forward_cuda<scalar_t, index_t><<<blocks_for(n), kThreads, 0, stream>>>(
          x.const_data_ptr<scalar_t>(), out.mutable_data_ptr<scalar_t>(), idx, n, s.pieces, s.inner);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  });
}

void maxout_backward_kernel(const at::Tensor& grad, const at::Tensor& indices, at::Tensor& grad_x,
                            const MaxoutShape& s) {
  const int64_t n = grad_x.numel();
  if (n == 0) {
    return;
  }
  const auto stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, grad.scalar_type(), "actops_maxout_backward_cuda", [&] {
    math::dispatch_maxout_index(indices.scalar_type(), [&](auto index_tag) {
      using index_t = decltype(index_tag);
      maxout_backward_cuda<scalar_t, index_t>
          <<<blocks_for(n), kThreads, 0, stream>>>(grad.const_data_ptr<scalar_t>(), indices.const_data_ptr<index_t>(),
                                                   grad_x.mutable_data_ptr<scalar_t>(), n, s.pieces, s.inner);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  });
}

}  // namespace actops::cuda
