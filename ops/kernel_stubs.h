// The kernel stubs, typed by what each kernel needs: one slot per CPU
// instruction set and one for CUDA. The op glue (ops/*.cpp) builds the
// TensorIterator or the contiguous tensors, the same for every device, and
// calls the stub's kernel for their device (launch). The element-wise and
// two-tensor ops have one stub per row of the op table (ops/rows.h), filled
// from the table by ops/cpu/{unary,binary}_kernels.cpp and, in a CUDA build,
// ops/cuda/register.cpp; a kernel receives its row's scalar arguments and
// builds its own math struct from them (the math structs are compiled once
// per instruction set, so they do not cross from the op glue into a kernel).
#pragma once

#include <c10/core/Device.h>
#include <c10/core/DeviceGuard.h>
#include <c10/util/Exception.h>

#include <cstdint>
#include <utility>

#include "ops/cpu/dispatch.h"

namespace at {
class Tensor;
struct TensorIteratorBase;
}  // namespace at

#define ACTOPS_CONCAT_INNER(a, b) a##b
#define ACTOPS_CONCAT(a, b) ACTOPS_CONCAT_INNER(a, b)

// In a per-instruction-set CPU kernel file: put `fn` in `stub`'s slot for
// the instruction set this file is being compiled for (ACTOPS_ISA_INDEX).
#define ACTOPS_REGISTER_CPU_KERNEL(stub, fn) \
  static const bool ACTOPS_CONCAT(actops_registered_, __COUNTER__) = ((stub).cpu[ACTOPS_ISA_INDEX] = (fn), true)
// In the CUDA build (ops/cuda/): put `fn` in `stub`'s CUDA slot.
#define ACTOPS_REGISTER_CUDA_KERNEL(stub, fn) \
  static const bool ACTOPS_CONCAT(actops_registered_, __COUNTER__) = ((stub).cuda = (fn), true)

namespace actops {

// One function pointer per CPU instruction set and one for CUDA; constant-
// initialized to null, so the kernel files can fill their slots during their
// own static initialization, in any order.
template <typename Fn>
struct KernelStub {
  Fn cpu[cpu::kNumIsa];
  Fn cuda;

  // The kernel for this device (for the CPU: the widest instruction set it
  // supports); `op` names the op in the error if none was built.
  Fn select(const char* op, c10::DeviceType device) const {
    if (device == c10::DeviceType::CPU) {
      for (int i = static_cast<int>(cpu::runtime_isa()); i >= 0; --i) {
        if (cpu[i] != nullptr) {
          return cpu[i];
        }
      }
      TORCH_CHECK(false, op, ": no CPU kernel was compiled into libactops");
    }
    TORCH_CHECK(device == c10::DeviceType::CUDA && cuda != nullptr, op, ": no ", c10::DeviceTypeName(device),
                " kernel was compiled into libactops");
    return cuda;
  }
};

// Runs the stub's kernel for `device`. A GPU kernel launches on the current
// stream of the current device: the device is made x's for the call (the
// dispatcher does not do it for a custom op), as ATen's generated wrappers do.
template <typename Fn, typename... Args>
void launch(const KernelStub<Fn>& stub, const char* op, c10::Device device, Args&&... args) {
  const Fn kernel = stub.select(op, device.type());
  if (device.is_cpu()) {
    kernel(std::forward<Args>(args)...);
    return;
  }
  const c10::DeviceGuard guard(device);
  kernel(std::forward<Args>(args)...);
}

// Unary ops: Value writes f(x) from x; First and Second write grad * f'(x) and
// grad * f''(x) from (grad, x).
// Two-tensor ops f(a, b): Value writes f from (a, b); First writes
// (grad f_a, grad f_b) from (grad, a, b); Second writes the gradients of
// gg_a . (grad f_a) + gg_b . (grad f_b) in (grad, a, b) from
// (gg_a, gg_b, grad, a, b).
enum class Pass : int { Value, First, Second };

template <typename Row>
using unary_kernel_fn = void (*)(at::TensorIteratorBase&, Pass, const typename Row::args_t&);
template <typename Row>
inline KernelStub<unary_kernel_fn<Row>> unary_stub{};

// `parameter_gradient`: null, or, in a gradient pass where b is a single
// value, where the kernel adds b's gradient summed over every element (the
// iterator then has no output for it).
template <typename Row>
using binary_kernel_fn = void (*)(at::TensorIteratorBase&, Pass, const typename Row::args_t&,
                                  double* parameter_gradient);
template <typename Row>
inline KernelStub<binary_kernel_fn<Row>> binary_stub{};

// trelu with a fixed alpha: out from x (no gradient to record), (out, mask =
// x > threshold) from x, and grad * f' from (grad, mask).
using trelu_fn = void (*)(at::TensorIteratorBase&, double threshold, double alpha);
inline KernelStub<trelu_fn> trelu_stub{};
using trelu_with_mask_fn = void (*)(at::TensorIteratorBase&, double threshold, double alpha);
using trelu_masked_gradient_fn = void (*)(at::TensorIteratorBase&, double alpha);
inline KernelStub<trelu_with_mask_fn> trelu_with_mask_stub{};
inline KernelStub<trelu_masked_gradient_fn> trelu_masked_gradient_stub{};

// Maxout on contiguous tensors viewed as (outer, groups, pieces, inner):
// each (outer, group, inner) takes the maximum over its `pieces` values.
struct MaxoutShape {
  int64_t outer, groups, pieces, inner;
};
// x -> (out, indices of the first maximum), out and indices (outer, groups,
// inner); indices may be undefined, and are then not computed
using maxout_forward_fn = void (*)(const at::Tensor& x, at::Tensor& out, at::Tensor& indices, const MaxoutShape&);
// (grad, indices) -> grad_x, each group's grad at its index and 0 elsewhere
using maxout_backward_fn = void (*)(const at::Tensor& grad, const at::Tensor& indices, at::Tensor& grad_x,
                                    const MaxoutShape&);
inline KernelStub<maxout_forward_fn> maxout_forward_stub{};
inline KernelStub<maxout_backward_fn> maxout_backward_stub{};

}  // namespace actops
