// Compiled once per instruction set (see ops/cpu/kernel_stub.h).
#include "ops/cpu/elementwise.h"
#include "ops/cpu/kernels.h"
#include "ops/math/mish.h"

namespace actops::cpu {
inline namespace CPU_CAPABILITY {
namespace {

void mish_kernel(at::TensorIteratorBase& iter, Pass pass, const Params& /*params*/) {
  activation_kernel(iter, pass, "actops.mish", math::Mish{});
}

ACTOPS_REGISTER_CPU_KERNEL(mish_stub, &mish_kernel);

}  // namespace
}  // namespace CPU_CAPABILITY
}  // namespace actops::cpu
