// Run-time choice among CPU kernels compiled once per instruction set.
//
// The kernel files in ops/cpu/ are compiled for DEFAULT, AVX2 and AVX512
// (CMakeLists.txt, ACTOPS_CPU_CAPABILITIES) and each puts its functions in the
// slot of its instruction set of a KernelStub; a call picks the widest slot
// the CPU supports, as ATen reports it (which honours
// ATEN_CPU_CAPABILITY=default|avx2|avx512, so every path can be tested on one
// machine).
#pragma once

namespace actops::cpu {

enum class Isa : int { Default = 0, Avx2 = 1, Avx512 = 2 };
inline constexpr int kNumIsa = 3;

// The instruction set ATen uses on this CPU, read once per process.
Isa runtime_isa();
const char* isa_name(Isa isa);

}  // namespace actops::cpu
