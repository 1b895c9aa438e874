// The CUDA loops of the element-wise and two-tensor rows: ATen's gpu_kernel
// and gpu_kernel_multiple_outputs over the op glue's TensorIterator (shapes,
// strides, broadcasting, 32-bit index splits, the current stream), with the
// formula structs of ops/math/ evaluated on scalars, as ATen writes its own
// activations (ActivationMishKernel.cu). bfloat16 and float16 are computed
// in float (opmath_t) and rounded once.
#pragma once

#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/TensorIterator.h>

#include <ATen/native/cuda/Loops.cuh>
#include <tuple>

#include "ops/cuda/kernels.h"
#include "ops/math/all.h"
#include "ops/rows.h"

namespace actops::cuda {

// The row's math struct from its scalar arguments (checked by the glue).
template <typename Row, typename Math>
Math make_math(const typename Row::args_t& args) {
  return std::apply([](const auto&... a) { return math::Maker<Math>::make(Row::qualified_name, a...); }, args);
}

template <Pass P, typename Form>
void unary_loop(at::TensorIteratorBase& iter, const Form& m) {
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, iter.common_dtype(), "actops_unary_cuda", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    if constexpr (P == Pass::Value) {
      at::native::gpu_kernel(iter, [m] GPU_LAMBDA(scalar_t x) -> scalar_t {
        return static_cast<scalar_t>(m.forward(static_cast<opmath_t>(x)));
      });
    } else if constexpr (P == Pass::First) {
      at::native::gpu_kernel(iter, [m] GPU_LAMBDA(scalar_t grad, scalar_t x) -> scalar_t {
        return static_cast<scalar_t>(static_cast<opmath_t>(grad) * m.derivative(static_cast<opmath_t>(x)));
      });
    } else {
      at::native::gpu_kernel(iter, [m] GPU_LAMBDA(scalar_t grad, scalar_t x) -> scalar_t {
        return static_cast<scalar_t>(static_cast<opmath_t>(grad) * m.second_derivative(static_cast<opmath_t>(x)));
      });
    }
  });
}

template <Pass P, typename Form>
void binary_loop(at::TensorIteratorBase& iter, const Form& m) {
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, iter.common_dtype(), "actops_binary_cuda", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    if constexpr (P == Pass::Value) {
      at::native::gpu_kernel(iter, [m] GPU_LAMBDA(scalar_t a, scalar_t b) -> scalar_t {
        return static_cast<scalar_t>(m.value(static_cast<opmath_t>(a), static_cast<opmath_t>(b)));
      });
    } else if constexpr (P == Pass::First) {
      at::native::gpu_kernel_multiple_outputs(
          iter, [m] GPU_LAMBDA(scalar_t grad, scalar_t a, scalar_t b) -> thrust::tuple<scalar_t, scalar_t> {
            const auto d =
                math::first_pass(m, static_cast<opmath_t>(grad), static_cast<opmath_t>(a), static_cast<opmath_t>(b));
            return {static_cast<scalar_t>(d.a), static_cast<scalar_t>(d.b)};
          });
    } else {
      at::native::gpu_kernel_multiple_outputs(
          iter,
          [m] GPU_LAMBDA(scalar_t gg_a, scalar_t gg_b, scalar_t grad, scalar_t a,
                         scalar_t b) -> thrust::tuple<scalar_t, scalar_t, scalar_t> {
            const auto d =
                math::second_pass(m, static_cast<opmath_t>(gg_a), static_cast<opmath_t>(gg_b),
                                  static_cast<opmath_t>(grad), static_cast<opmath_t>(a), static_cast<opmath_t>(b));
            return {static_cast<scalar_t>(d.grad), static_cast<scalar_t>(d.a), static_cast<scalar_t>(d.b)};
          });
    }
  });
}

// A form chosen at run time (gelu's approximate, swish's kind of beta, a
// clamped gated unit) gets its own kernel, as on the CPU.
template <typename Row, typename Math, Pass P>
void unary_pass(at::TensorIteratorBase& iter, const typename Row::args_t& args) {
  math::visit_form(make_math<Row, Math>(args), [&](const auto& form) { unary_loop<P>(iter, form); });
}
template <typename Row, typename Math, Pass P>
void binary_pass(at::TensorIteratorBase& iter, const typename Row::args_t& args) {
  math::visit_form(make_math<Row, Math>(args), [&](const auto& form) { binary_loop<P>(iter, form); });
}

}  // namespace actops::cuda
