// trelu with a fixed alpha: the forward that also writes the 1-byte mask
// x > threshold, and the backward from that mask. Compiled once per
// instruction set (see ops/cpu/dispatch.h).
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "ops/cpu/loops.h"
#include "ops/kernel_stubs.h"
#include "ops/math/trelu.h"

namespace actops::cpu {
inline namespace CPU_CAPABILITY {
namespace {

constexpr const char* kTrelu = "actops.trelu";

// x -> out
void trelu_kernel(at::TensorIteratorBase& iter, double threshold, double alpha) {
  const math::TRelu op{threshold, alpha};
  map_value<math::is_light_v<math::TRelu>>(iter, kTrelu, [op](auto x) { return op.forward(x); });
}

// The contiguous runs of the two mask kernels are plain loops over restrict
// pointers with the derivative as a select of 1 and alpha (f = x f'(x) for
// this piecewise-linear f): the compiler vectorizes them for this instruction
// set, the 1-byte mask included (the select of 1 and alpha is one of bits:
// select_bits, ops/cpu/loops.h). bfloat16 and float16 go through float in
// blocks on the stack.
constexpr int64_t kBlock = 256;

template <typename T>
void with_mask_run(T* __restrict out, bool* __restrict mask, const T* __restrict x, T threshold, T alpha, int64_t n) {
  auto* __restrict bytes = reinterpret_cast<uint8_t*>(mask);
  for (int64_t i = 0; i < n; ++i) {
    const T v = x[i];
    const bool above = v > threshold;
    out[i] = v * select_bits(above, T(1), alpha);
    bytes[i] = static_cast<uint8_t>(above);
  }
}

template <typename T>
void masked_gradient_run(T* __restrict out, const T* __restrict grad, const bool* __restrict mask, T alpha, int64_t n) {
  const auto* __restrict bytes = reinterpret_cast<const uint8_t*>(mask);
  for (int64_t i = 0; i < n; ++i) {
    out[i] = grad[i] * select_bits(bytes[i] != 0, T(1), alpha);
  }
}

// x -> (out, mask = x > threshold), one pass.
void trelu_with_mask_kernel(at::TensorIteratorBase& iter, double threshold, double alpha) {
  const math::TRelu op{threshold, alpha};
  dispatch_floating(iter.input_dtype(0), kTrelu, [&](auto tag) {
    using scalar_t = decltype(tag);
    using opmath_t = at::opmath_type<scalar_t>;
    const auto th = static_cast<opmath_t>(threshold);
    const auto a = static_cast<opmath_t>(alpha);
    iter.for_each([&](char** data, const int64_t* strides, int64_t n) {
      constexpr int64_t kSize = sizeof(scalar_t);
      if (strides[0] == kSize && strides[1] == 1 && strides[2] == kSize) {
        auto* out = reinterpret_cast<scalar_t*>(data[0]);
        auto* mask = reinterpret_cast<bool*>(data[1]);
        const auto* x = reinterpret_cast<const scalar_t*>(data[2]);
        if constexpr (std::is_same_v<scalar_t, opmath_t>) {
          with_mask_run(out, mask, x, th, a, n);
        } else {
          float x_block[kBlock], out_block[kBlock];
          for (int64_t i = 0; i < n; i += kBlock) {
            const int64_t m = std::min(kBlock, n - i);
            at::vec::convert(x + i, x_block, m);
            with_mask_run(out_block, mask + i, x_block, th, a, m);
            at::vec::convert(out_block, out + i, m);
          }
        }
        return;
      }
      for (int64_t i = 0; i < n; ++i) {
        const opmath_t v = static_cast<opmath_t>(*reinterpret_cast<const scalar_t*>(data[2] + i * strides[2]));
        *reinterpret_cast<scalar_t*>(data[0] + i * strides[0]) = static_cast<scalar_t>(op.forward(v));
        *reinterpret_cast<bool*>(data[1] + i * strides[1]) = op.above(v);
      }
    });
  });
}

// (grad, mask) -> grad * f'(x)
void trelu_masked_gradient_kernel(at::TensorIteratorBase& iter, double alpha) {
  dispatch_floating(iter.dtype(0), kTrelu, [&](auto tag) {
    using scalar_t = decltype(tag);
    using opmath_t = at::opmath_type<scalar_t>;
    const auto a = static_cast<opmath_t>(alpha);
    iter.for_each([&](char** data, const int64_t* strides, int64_t n) {
      constexpr int64_t kSize = sizeof(scalar_t);
      if (strides[0] == kSize && strides[1] == kSize && strides[2] == 1) {
        auto* out = reinterpret_cast<scalar_t*>(data[0]);
        const auto* grad = reinterpret_cast<const scalar_t*>(data[1]);
        const auto* mask = reinterpret_cast<const bool*>(data[2]);
        if constexpr (std::is_same_v<scalar_t, opmath_t>) {
          masked_gradient_run(out, grad, mask, a, n);
        } else {
          float grad_block[kBlock], out_block[kBlock];
          for (int64_t i = 0; i < n; i += kBlock) {
            const int64_t m = std::min(kBlock, n - i);
            at::vec::convert(grad + i, grad_block, m);
            masked_gradient_run(out_block, grad_block, mask + i, a, m);
            at::vec::convert(out_block, out + i, m);
          }
        }
        return;
      }
      for (int64_t i = 0; i < n; ++i) {
        const opmath_t g = static_cast<opmath_t>(*reinterpret_cast<const scalar_t*>(data[1] + i * strides[1]));
        const bool above = *reinterpret_cast<const bool*>(data[2] + i * strides[2]);
        *reinterpret_cast<scalar_t*>(data[0] + i * strides[0]) =
            static_cast<scalar_t>(g * math::trelu_masked_derivative(above, a));
      }
    });
  });
}

ACTOPS_REGISTER_CPU_KERNEL(trelu_stub, &trelu_kernel);
ACTOPS_REGISTER_CPU_KERNEL(trelu_with_mask_stub, &trelu_with_mask_kernel);
ACTOPS_REGISTER_CPU_KERNEL(trelu_masked_gradient_stub, &trelu_masked_gradient_kernel);

}  // namespace
}  // namespace CPU_CAPABILITY
}  // namespace actops::cpu
