// Run-time choice among CPU kernels compiled once per instruction set.
//
// The kernel files in ops/cpu/ are compiled for DEFAULT, AVX2 and AVX512
// (CMakeLists.txt, ACTOPS_CPU_CAPABILITIES) and each puts its functions in the
// slot of its instruction set of a KernelStub; a call picks the widest slot
// the CPU supports, as ATen reports it (which honours
// ATEN_CPU_CAPABILITY=default|avx2|avx512, so every path can be tested on one
// machine).
#pragma once

#include <c10/util/Exception.h>

namespace actops::cpu {

enum class Isa : int { Default = 0, Avx2 = 1, Avx512 = 2 };
inline constexpr int kNumIsa = 3;

// The instruction set ATen uses on this CPU, read once per process.
Isa runtime_isa();
const char* isa_name(Isa isa);

// One function pointer per instruction set; constant-initialized to null, so
// the kernel files can fill it during their own static initialization, in
// any order.
template <typename Fn>
struct KernelStub {
  Fn table[kNumIsa];

  // The kernel for this CPU; `op` names the op in the error if none was built.
  Fn select(const char* op) const {
    for (int i = static_cast<int>(runtime_isa()); i >= 0; --i) {
      if (table[i] != nullptr) {
        return table[i];
      }
    }
    TORCH_CHECK(false, op, ": no CPU kernel was compiled into libactops");
  }
};

}  // namespace actops::cpu

#define ACTOPS_CONCAT_INNER(a, b) a##b
#define ACTOPS_CONCAT(a, b) ACTOPS_CONCAT_INNER(a, b)

// In a per-instruction-set kernel file: put `fn` in `stub`'s slot for the
// instruction set this file is being compiled for (ACTOPS_ISA_INDEX).
#define ACTOPS_REGISTER_CPU_KERNEL(stub, fn) \
  static const bool ACTOPS_CONCAT(actops_registered_, __COUNTER__) = ((stub).table[ACTOPS_ISA_INDEX] = (fn), true)
