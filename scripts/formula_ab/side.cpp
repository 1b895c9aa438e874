// One side of scripts/formula_ab.sh: the formulas of one header tree, each in
// a loop over contiguous float32 values, two vectors a step as ATen's loop
// runs them. Compiled twice (-DSIDE=before / after, each with its own
// CPU_CAPABILITY, so that the inline functions of the two trees keep apart).
#include "formulas.h"
#include "ops/math/all.h"

namespace {
using V = at::vec::Vectorized<float>;
using namespace actops::math;
}  // namespace

#define ACTOPS_AB_CAT2(a, b) a##_##b
#define ACTOPS_AB_CAT(a, b) ACTOPS_AB_CAT2(a, b)
#define ACTOPS_AB_LOOP(name, expr)                                             \
  extern "C" void ACTOPS_AB_CAT(name, SIDE)(const float* x, float* y, int n) { \
    const auto f = [](V v) __attribute__((always_inline)) { return expr; };    \
    for (int i = 0; i + 16 <= n; i += 16) {                                    \
      const V a = f(V::loadu(x + i));                                          \
      const V b = f(V::loadu(x + i + 8));                                      \
      a.store(y + i);                                                          \
      b.store(y + i + 8);                                                      \
    }                                                                          \
  }

ACTOPS_AB_FORMULAS(ACTOPS_AB_LOOP)
