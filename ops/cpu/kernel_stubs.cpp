#include "ops/cpu/kernels.h"

namespace actops::cpu {

// Constant-initialized, so the per-instruction-set files can fill them during
// their own static initialization, in any order.
KernelStub<kernel_fn> mish_stub{{}, "actops.mish"};
KernelStub<kernel_fn> gelu_stub{{}, "actops.gelu"};
KernelStub<kernel_fn> swish_stub{{}, "actops.swish"};
KernelStub<kernel_fn> swish_learnable_stub{{}, "actops.swish"};
KernelStub<kernel_fn> trelu_stub{{}, "actops.trelu"};
KernelStub<kernel_fn> trelu_learnable_stub{{}, "actops.trelu"};

}  // namespace actops::cpu
