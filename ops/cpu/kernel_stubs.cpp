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
KernelStub<kernel_fn> swiglu_stub{{}, "actops.swiglu"};
KernelStub<maxout_forward_fn> maxout_forward_stub{{}, "actops.maxout"};
KernelStub<maxout_backward_fn> maxout_backward_stub{{}, "actops.maxout"};

}  // namespace actops::cpu
