#include "ops/cpu/dispatch.h"

#include <ATen/Version.h>

#include <string>

namespace actops::cpu {

Isa runtime_isa() {
  static const Isa isa = [] {
    const std::string name = at::get_cpu_capability();
    if (name.rfind("AVX512", 0) == 0) {
      return Isa::Avx512;
    }
    if (name.rfind("AVX2", 0) == 0) {
      return Isa::Avx2;
    }
    return Isa::Default;
  }();
  return isa;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512:
      return "AVX512";
    case Isa::Avx2:
      return "AVX2";
    default:
      return "DEFAULT";
  }
}

}  // namespace actops::cpu
