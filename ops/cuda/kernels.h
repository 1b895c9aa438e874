// The CUDA kernels, as the host code sees them (ops/cuda/register.cpp puts
// them in the stubs of ops/kernel_stubs.h). Built only when CMake finds a
// CUDA build of torch and nvcc (ACTOPS_CUDA).
//
// The element-wise and two-tensor rows of the op table get theirs from two
// templates, one per row kind, over the same formula structs as the CPU
// (ops/math/): no row has CUDA code of its own. Each pass (value, first and
// second derivatives) is compiled in a translation unit of its own
// (ops/cuda/{unary,binary}_kernels.cu, once per pass), which keeps every
// unit's instantiations few.
#pragma once

#include <ATen/core/Tensor.h>

#include "ops/kernel_stubs.h"

namespace at {
struct TensorIteratorBase;
}  // namespace at

namespace actops::cuda {

// One pass of a unary row (Row, its Math) over a TensorIterator built by
// the op glue: Value writes f(x) from x; First and Second write grad f'(x)
// and grad f''(x) from (grad, x).
template <typename Row, typename Math, Pass P>
void unary_pass(at::TensorIteratorBase& iter, const typename Row::args_t& args);

// One pass of a two-tensor row (parametric or gated): Value writes f from
// (a, b); First writes (grad f_a, grad f_b) from (grad, a, b); Second the
// gradients of gg_a . (grad f_a) + gg_b . (grad f_b) in (grad, a, b) from
// (gg_a, gg_b, grad, a, b).
template <typename Row, typename Math, Pass P>
void binary_pass(at::TensorIteratorBase& iter, const typename Row::args_t& args);

// trelu with a fixed alpha (ops/cuda/trelu_kernel.cu), as the CPU stubs.
void trelu_kernel(at::TensorIteratorBase& iter, double threshold, double alpha);
void trelu_with_mask_kernel(at::TensorIteratorBase& iter, double threshold, double alpha);
void trelu_masked_gradient_kernel(at::TensorIteratorBase& iter, double alpha);

// maxout (ops/cuda/maxout_kernel.cu), as the CPU stubs.
void maxout_forward_kernel(const at::Tensor& x, at::Tensor& out, at::Tensor& indices, const MaxoutShape& shape);
void maxout_backward_kernel(const at::Tensor& grad, const at::Tensor& indices, at::Tensor& grad_x,
                            const MaxoutShape& shape);

}  // namespace actops::cuda
