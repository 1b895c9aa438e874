// The CPU loops shared by every element-wise activation: TensorIterator for
// shapes, strides and threads, one scalar and one Vectorized lambda built from
// the same formula. bfloat16 and float16 are widened to float, computed, and
// rounded once. Included only by per-instruction-set kernel files.
#pragma once

#include <ATen/cpu/vec/functional.h>
#include <ATen/cpu/vec/vec.h>
#include <ATen/native/cpu/Loops.h>

#include "ops/cpu/kernel_stub.h"
#include "ops/math/common.h"

namespace actops::cpu {
inline namespace CPU_CAPABILITY {

// Calls f(scalar_t{}) for the four floating dtypes; the op's entry point has
// already rejected every other dtype with a message naming the op.
template <typename F>
void dispatch_floating(at::ScalarType dtype, const char* op, const F& f) {
  switch (dtype) {
    case at::kFloat:
      return f(float{});
    case at::kDouble:
      return f(double{});
    case at::kBFloat16:
      return f(c10::BFloat16{});
    case at::kHalf:
      return f(c10::Half{});
    default:
      TORCH_CHECK(false, op, ": unsupported dtype ", dtype);
  }
}

// out = f(x); `f` is generic over scalars and Vectorized.
template <typename F>
void map_value(at::TensorIteratorBase& iter, const char* op, const F& f) {
  dispatch_floating(iter.common_dtype(), op, [&](auto tag) {
        using scalar_t = decltype(tag);
        using Vec = at::vec::Vectorized<scalar_t>;
        if constexpr (at::is_reduced_floating_point_v<scalar_t>) {
          at::native::cpu_kernel_vec(
              iter,
              [f](scalar_t x) -> scalar_t { return f(static_cast<float>(x)); },
              [f](Vec x) -> Vec {
                auto [x0, x1] = at::vec::convert_to_float<scalar_t>(x);
                return at::vec::convert_from_float<scalar_t>(f(x0), f(x1));
              });
        } else {
          at::native::cpu_kernel_vec(
              iter,
              [f](scalar_t x) -> scalar_t { return f(x); },
              [f](Vec x) -> Vec { return f(x); });
        }
      });
}

// out = grad * f(x), with grad and x of one dtype.
template <typename F>
void map_gradient(at::TensorIteratorBase& iter, const char* op, const F& f) {
  dispatch_floating(iter.common_dtype(), op, [&](auto tag) {
        using scalar_t = decltype(tag);
        using Vec = at::vec::Vectorized<scalar_t>;
        if constexpr (at::is_reduced_floating_point_v<scalar_t>) {
          at::native::cpu_kernel_vec(
              iter,
              [f](scalar_t g, scalar_t x) -> scalar_t {
                return static_cast<float>(g) * f(static_cast<float>(x));
              },
              [f](Vec g, Vec x) -> Vec {
                auto [g0, g1] = at::vec::convert_to_float<scalar_t>(g);
                auto [x0, x1] = at::vec::convert_to_float<scalar_t>(x);
                return at::vec::convert_from_float<scalar_t>(
                    g0 * f(x0), g1 * f(x1));
              });
        } else {
          at::native::cpu_kernel_vec(
              iter,
              [f](scalar_t g, scalar_t x) -> scalar_t { return g * f(x); },
              [f](Vec g, Vec x) -> Vec { return g * f(x); });
        }
      });
}

// The kernel of an activation without parameters: `Op` (from ops/math/)
// provides forward, derivative and second_derivative.
template <typename Op>
void activation_kernel(at::TensorIteratorBase& iter, Order order, const char* name, const Op& op) {
  switch (order) {
    case Order::Value:
      map_value(iter, name, [op](auto x) { return op.forward(x); });
      break;
    case Order::First:
      map_gradient(iter, name, [op](auto x) { return op.derivative(x); });
      break;
    case Order::Second:
      map_gradient(iter, name, [op](auto x) { return op.second_derivative(x); });
      break;
  }
}

}  // namespace CPU_CAPABILITY
}  // namespace actops::cpu
