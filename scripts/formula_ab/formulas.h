// The formulas scripts/formula_ab.sh times, as X(name, expression in the
// float vector v): side.cpp builds a loop of each, main.cpp runs them.
#pragma once

#define ACTOPS_AB_FORMULAS(X)                                  \
  X(swish, SwishOf<true>{}.forward(v))                         \
  X(swish_d, SwishOf<true>{}.derivative(v))                    \
  X(mish, Mish{}.forward(v))                                   \
  X(mish_d, Mish{}.derivative(v))                              \
  X(gelu, GeluErf{}.forward(v))                                \
  X(gelu_d, GeluErf{}.derivative(v))                           \
  X(gelu_tanh, GeluTanh{}.forward(v))                          \
  X(gelu_tanh_d, GeluTanh{}.derivative(v))                     \
  X(swiglu, SwishOf<true>{}.times(v, v* V(0.5f)))              \
  X(swiglu_d, SwishOf<true>{}.derivative_times(v, v* V(0.5f))) \
  X(geglu, GeluErf{}.times(v, v* V(0.5f)))                     \
  X(geglu_d, GeluErf{}.derivative_times(v, v* V(0.5f)))
