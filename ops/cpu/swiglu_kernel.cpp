// Compiled once per instruction set (see ops/cpu/kernel_stub.h).
#include "ops/cpu/elementwise.h"
#include "ops/cpu/kernels.h"
#include "ops/math/swiglu.h"

namespace actops::cpu {
inline namespace CPU_CAPABILITY {
namespace {

constexpr const char* kSwiglu = "actops.swiglu";

// One pass over memory each way; gate and up may be broadcast, or be the two
// halves of one packed tensor (strided views, read in place).
//   Value:  (gate, up)                          -> out
//   First:  (grad, gate, up)                    -> (d gate, d up)
//   Second: (gg_gate, gg_up, grad, gate, up)    -> (d grad, d gate, d up)
void swiglu_kernel(at::TensorIteratorBase& iter, Pass pass, const Params& params) {
  switch (pass) {
    case Pass::Value:
      map_multi<1, 2>(iter, kSwiglu, [](const auto& in) {
        using T = typename std::decay_t<decltype(in)>::value_type;
        return std::array<T, 1>{math::swiglu_value(in[0], in[1])};
      });
      return;
    case Pass::First:
      map_gradients<2, 3>(iter, kSwiglu, params, [](const auto& in) {
        using T = typename std::decay_t<decltype(in)>::value_type;
        const auto d = math::swiglu_gradients(in[0], in[1], in[2]);
        return std::array<T, 2>{d.gate, d.up};
      });
      return;
    case Pass::Second:
      map_gradients<3, 5>(iter, kSwiglu, params, [](const auto& in) {
        using T = typename std::decay_t<decltype(in)>::value_type;
        const auto d = math::swiglu_second_gradients(in[0], in[1], in[2], in[3], in[4]);
        return std::array<T, 3>{d.grad, d.gate, d.up};
      });
      return;
    default:
      TORCH_CHECK(false, kSwiglu, ": unsupported kernel pass ", static_cast<int>(pass));
  }
}

ACTOPS_REGISTER_CPU_KERNEL(swiglu_stub, &swiglu_kernel);

}  // namespace
}  // namespace CPU_CAPABILITY
}  // namespace actops::cpu
