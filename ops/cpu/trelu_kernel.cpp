// trelu with a fixed alpha: the forward that also writes the 1-byte mask
// x > threshold, and the backward from that mask. Compiled once per
// instruction set (see ops/cpu/dispatch.h).
#include "ops/cpu/kernel_stubs.h"
#include "ops/cpu/loops.h"
#include "ops/math/trelu.h"

namespace actops::cpu {
inline namespace CPU_CAPABILITY {
namespace {

constexpr const char* kTrelu = "actops.trelu";

// x -> out
void trelu_kernel(at::TensorIteratorBase& iter, double threshold, double alpha) {
  const math::TRelu op{threshold, alpha};
  map_value(iter, kTrelu, [op](auto x) { return op.forward(x); });
}

// x -> (out, mask = x > threshold), one pass.
void trelu_with_mask_kernel(at::TensorIteratorBase& iter, double threshold, double alpha) {
  const math::TRelu op{threshold, alpha};
  dispatch_floating(iter.input_dtype(0), kTrelu, [&](auto tag) {
    using scalar_t = decltype(tag);
    using opmath_t = at::opmath_type<scalar_t>;
    iter.for_each([&](char** data, const int64_t* strides, int64_t n) {
      constexpr int64_t kSize = sizeof(scalar_t);
      if (strides[0] == kSize && strides[1] == 1 && strides[2] == kSize) {
        // Contiguous: a plain loop the compiler vectorizes for this ISA.
        auto* out = reinterpret_cast<scalar_t*>(data[0]);
        auto* mask = reinterpret_cast<bool*>(data[1]);
        const auto* x = reinterpret_cast<const scalar_t*>(data[2]);
        for (int64_t i = 0; i < n; ++i) {
          const opmath_t v = static_cast<opmath_t>(x[i]);
          out[i] = static_cast<scalar_t>(op.forward(v));
          mask[i] = op.above(v);
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
    at::native::cpu_kernel(iter, [a](scalar_t grad, bool above) -> scalar_t {
      return static_cast<scalar_t>(static_cast<opmath_t>(grad) * math::trelu_masked_derivative(above, a));
    });
  });
}

ACTOPS_REGISTER_CPU_KERNEL(trelu_stub, &trelu_kernel);
ACTOPS_REGISTER_CPU_KERNEL(trelu_with_mask_stub, &trelu_with_mask_kernel);
ACTOPS_REGISTER_CPU_KERNEL(trelu_masked_gradient_stub, &trelu_masked_gradient_kernel);

}  // namespace
}  // namespace CPU_CAPABILITY
}  // namespace actops::cpu
