#include "actops/actops.h"
#include "ops/cpu/dispatch.h"

namespace actops {

const char* cpu_capability() { return cpu::isa_name(cpu::runtime_isa()); }

}  // namespace actops
