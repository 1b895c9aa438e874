// The CPU kernel stubs of every op, filled by ops/cpu/<op>_kernel.cpp.
#pragma once

#include <ATen/core/TensorBase.h>

#include "ops/cpu/kernel_stub.h"

namespace at {
struct TensorIteratorBase;
}

namespace actops::cpu {

using activation_fn = void (*)(at::TensorIteratorBase&, Order);

extern KernelStub<activation_fn> mish_stub;

}  // namespace actops::cpu
