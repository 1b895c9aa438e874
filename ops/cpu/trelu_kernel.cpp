// Compiled once per instruction set (see ops/cpu/kernel_stub.h).
#include "ops/cpu/elementwise.h"
#include "ops/cpu/kernels.h"
#include "ops/math/trelu.h"

namespace actops::cpu {
inline namespace CPU_CAPABILITY {
namespace {

constexpr const char* kTrelu = "actops.trelu";

// Fixed threshold and alpha.
//   Value:          x            -> out
//   ValueWithMask:  x            -> (out, mask = x > threshold), one pass
//   MaskedGradient: (grad, mask) -> grad where mask, alpha * grad elsewhere
void trelu_kernel(at::TensorIteratorBase& iter, Pass pass, const Params& params) {
  const math::TRelu op{params.threshold, params.alpha};
  switch (pass) {
    case Pass::ValueWithMask:
      dispatch_floating(iter.input_dtype(0), kTrelu, [&](auto tag) {
        using scalar_t = decltype(tag);
        using opmath_t = at::opmath_type<scalar_t>;
        const auto threshold = static_cast<opmath_t>(params.threshold);
        const auto alpha = static_cast<opmath_t>(params.alpha);
        iter.for_each([&](char** data, const int64_t* strides, int64_t n) {
          constexpr int64_t kSize = sizeof(scalar_t);
          if (strides[0] == kSize && strides[1] == 1 && strides[2] == kSize) {
            // Contiguous: a plain loop the compiler vectorizes for this ISA.
            auto* out = reinterpret_cast<scalar_t*>(data[0]);
            auto* mask = reinterpret_cast<bool*>(data[1]);
            const auto* x = reinterpret_cast<const scalar_t*>(data[2]);
            for (int64_t i = 0; i < n; ++i) {
              const opmath_t v = static_cast<opmath_t>(x[i]);
              const bool above = v > threshold;
              out[i] = static_cast<scalar_t>(above ? v : alpha * v);
              mask[i] = above;
            }
            return;
          }
          for (int64_t i = 0; i < n; ++i) {
            const opmath_t v = static_cast<opmath_t>(
                *reinterpret_cast<const scalar_t*>(data[2] + i * strides[2]));
            const bool above = v > threshold;
            *reinterpret_cast<scalar_t*>(data[0] + i * strides[0]) =
                static_cast<scalar_t>(above ? v : alpha * v);
            *reinterpret_cast<bool*>(data[1] + i * strides[1]) = above;
          }
        });
      });
      return;
    case Pass::MaskedGradient:
      dispatch_floating(iter.dtype(0), kTrelu, [&](auto tag) {
        using scalar_t = decltype(tag);
        using opmath_t = at::opmath_type<scalar_t>;
        const auto alpha = static_cast<opmath_t>(params.alpha);
        at::native::cpu_kernel(iter, [alpha](scalar_t grad, bool above) -> scalar_t {
          const opmath_t g = static_cast<opmath_t>(grad);
          return static_cast<scalar_t>(above ? g : alpha * g);
        });
      });
      return;
    default:
      activation_kernel(iter, pass, kTrelu, op);
  }
}

// Tensor alpha, broadcast to x by the iterator.
//   Value: (x, alpha)        -> out
//   First: (grad, x, alpha)  -> (grad_x, grad_alpha per element)
void trelu_learnable_kernel(at::TensorIteratorBase& iter, Pass pass, const Params& params) {
  const double threshold = params.threshold;
  switch (pass) {
    case Pass::Value:
      map_multi<1, 2>(iter, kTrelu, [threshold](const auto& in) {
        using T = typename std::decay_t<decltype(in)>::value_type;
        return std::array<T, 1>{math::trelu_value(in[0], math::c<T>(threshold), in[1])};
      });
      return;
    case Pass::First:
      map_gradients<2, 3>(iter, kTrelu, params, [threshold](const auto& in) {
        using T = typename std::decay_t<decltype(in)>::value_type;
        const auto above = in[1] > math::c<T>(threshold);
        return std::array<T, 2>{
            math::where(above, in[0], in[2] * in[0]),
            math::where(above, math::c<T>(0), in[0] * in[1])};
      });
      return;
    default:
      TORCH_CHECK(false, kTrelu, ": unsupported kernel pass ", static_cast<int>(pass));
  }
}

ACTOPS_REGISTER_CPU_KERNEL(trelu_stub, &trelu_kernel);
ACTOPS_REGISTER_CPU_KERNEL(trelu_learnable_stub, &trelu_learnable_kernel);

}  // namespace
}  // namespace CPU_CAPABILITY
}  // namespace actops::cpu
