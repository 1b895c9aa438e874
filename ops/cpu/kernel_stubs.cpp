#include "ops/cpu/kernels.h"

namespace actops::cpu {

// Constant-initialized, so the per-instruction-set files can fill them during
// their own static initialization, in any order.
KernelStub<activation_fn> mish_stub{{}, "actops.mish"};

}  // namespace actops::cpu
