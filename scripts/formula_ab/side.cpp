// One side of scripts/formula_ab.sh: the formulas of one header tree, each in
// a loop over contiguous float32 values, two vectors a step as ATen's loop
// runs them. Compiled twice (-DSIDE=before / after, each with its own
// CPU_CAPABILITY, so that the inline functions of the two trees keep apart).
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

ACTOPS_AB_LOOP(swish, SwishOf<true>{}.forward(v))
ACTOPS_AB_LOOP(swish_d, SwishOf<true>{}.derivative(v))
ACTOPS_AB_LOOP(mish, Mish{}.forward(v))
ACTOPS_AB_LOOP(mish_d, Mish{}.derivative(v))
ACTOPS_AB_LOOP(gelu, GeluErf{}.forward(v))
ACTOPS_AB_LOOP(gelu_d, GeluErf{}.derivative(v))
ACTOPS_AB_LOOP(gelu_tanh, GeluTanh{}.forward(v))
ACTOPS_AB_LOOP(gelu_tanh_d, GeluTanh{}.derivative(v))
ACTOPS_AB_LOOP(swiglu, SwishOf<true>{}.times(v, v* V(0.5f)))
ACTOPS_AB_LOOP(swiglu_d, SwishOf<true>{}.derivative_times(v, v* V(0.5f)))
ACTOPS_AB_LOOP(geglu, GeluErf{}.times(v, v* V(0.5f)))
ACTOPS_AB_LOOP(geglu_d, GeluErf{}.derivative_times(v, v* V(0.5f)))
