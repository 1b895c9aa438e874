// Compiled once per instruction set (see ops/cpu/kernel_stub.h).
#include "ops/cpu/elementwise.h"
#include "ops/cpu/kernels.h"
#include "ops/math/gelu.h"

namespace actops::cpu {
inline namespace CPU_CAPABILITY {
namespace {

void gelu_kernel(at::TensorIteratorBase& iter, Pass pass, const Params& params) {
  if (params.tanh) {
    activation_kernel(iter, pass, "actops.gelu", math::GeluTanh{});
  } else {
    activation_kernel(iter, pass, "actops.gelu", math::GeluErf{});
  }
}

ACTOPS_REGISTER_CPU_KERNEL(gelu_stub, &gelu_kernel);

}  // namespace
}  // namespace CPU_CAPABILITY
}  // namespace actops::cpu
