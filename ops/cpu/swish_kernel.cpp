// Compiled once per instruction set (see ops/cpu/kernel_stub.h).
#include "ops/cpu/elementwise.h"
#include "ops/cpu/kernels.h"
#include "ops/math/swish.h"

namespace actops::cpu {
inline namespace CPU_CAPABILITY {
namespace {

constexpr const char* kSwish = "actops.swish";

// Fixed beta: an element-wise activation; no work for a beta gradient.
void swish_kernel(at::TensorIteratorBase& iter, Pass pass, const Params& params) {
  activation_kernel(iter, pass, kSwish, math::Swish{params.beta});
}

// Tensor beta, broadcast to x by the iterator.
//   Value:  (x, beta)                         -> out
//   First:  (grad, x, beta)                   -> (grad_x, grad_beta per element)
//   Second: (gg_x, gg_beta, grad, x, beta)    -> (d grad, d x, d beta per element)
void swish_learnable_kernel(at::TensorIteratorBase& iter, Pass pass, const Params& params) {
  switch (pass) {
    case Pass::Value:
      map_multi<1, 2>(iter, kSwish, [](const auto& in) {
        using T = typename std::decay_t<decltype(in)>::value_type;
        return std::array<T, 1>{math::swish_value(in[0], in[1])};
      });
      return;
    case Pass::First:
      map_gradients<2, 3>(iter, kSwish, params, [](const auto& in) {
        using T = typename std::decay_t<decltype(in)>::value_type;
        const auto d = math::swish_gradients(in[1], in[2]);
        return std::array<T, 2>{in[0] * d.x, in[0] * d.beta};
      });
      return;
    case Pass::Second:
      map_gradients<3, 5>(iter, kSwish, params, [](const auto& in) {
        using T = typename std::decay_t<decltype(in)>::value_type;
        const T& gg_x = in[0];
        const T& gg_beta = in[1];
        const T& grad = in[2];
        const auto d = math::swish_gradients(in[3], in[4]);
        const auto d2 = math::swish_second_gradients(in[3], in[4]);
        return std::array<T, 3>{
            gg_x * d.x + gg_beta * d.beta,
            grad * (gg_x * d2.xx + gg_beta * d2.xbeta),
            grad * (gg_x * d2.xbeta + gg_beta * d2.betabeta)};
      });
      return;
    default:
      TORCH_CHECK(false, kSwish, ": unsupported kernel pass ", static_cast<int>(pass));
  }
}

ACTOPS_REGISTER_CPU_KERNEL(swish_stub, &swish_kernel);
ACTOPS_REGISTER_CPU_KERNEL(swish_learnable_stub, &swish_learnable_kernel);

}  // namespace
}  // namespace CPU_CAPABILITY
}  // namespace actops::cpu
