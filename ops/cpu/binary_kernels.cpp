// The CPU kernels of every two-tensor row of the op table (parametric and
// gated), compiled once per instruction set (see ops/cpu/dispatch.h). One
// template: the passes are written with the math struct's value, gradients
// and second_gradients alone. The two tensors may be broadcast, or be the
// two parts of one packed tensor (strided views, read in place).
#include <array>
#include <tuple>
#include <type_traits>

#include "ops/cpu/loops.h"
#include "ops/kernel_stubs.h"
#include "ops/math/all.h"
#include "ops/rows.h"

namespace actops::cpu {
inline namespace CPU_CAPABILITY {
namespace {

// With `sum` set, the last output (b's gradient) is summed into *sum.
template <int NOut, int NIn, bool kLight, typename F>
void map_gradients(at::TensorIteratorBase& iter, const char* op, double* sum, const F& f) {
  if (sum != nullptr) {
    map_multi<NOut, NIn, true>(iter, op, f, sum);
  } else {
    map_multi<NOut, NIn, false, kLight>(iter, op, f);
  }
}

// One pass of one form of the math (a form has no run-time choices left).
// The value and the gradients are inlined into their loops (GCC left some
// gradients out of line, a call per vector); the second gradients, the
// longest and the least used, are left to GCC, which keeps the build and
// the library small.
template <typename Form>
void run_form(at::TensorIteratorBase& iter, Pass pass, const char* op, const Form& m, double* sum) {
  switch (pass) {
    case Pass::Value:  // (a, b) -> f
      map_multi<1, 2, false, math::is_light_v<Form>>(iter, op, [m](const auto& in) ACTOPS_LAMBDA_INLINE {
        using T = typename std::decay_t<decltype(in)>::value_type;
        return std::array<T, 1>{m.value(in[0], in[1])};
      });
      return;
    case Pass::First:  // (grad, a, b) -> (grad f_a, grad f_b)
      map_gradients<2, 3, math::is_light_v<Form>>(iter, op, sum, [m](const auto& in) ACTOPS_LAMBDA_INLINE {
        using T = typename std::decay_t<decltype(in)>::value_type;
        const auto d = math::first_pass(m, in[0], in[1], in[2]);
        return std::array<T, 2>{d.a, d.b};
      });
      return;
    case Pass::Second:  // (gg_a, gg_b, grad, a, b) -> (d grad, d a, d b)
      map_gradients<3, 5, math::is_light_v<Form>>(iter, op, sum, [m](const auto& in) {
        using T = typename std::decay_t<decltype(in)>::value_type;
        const auto d = math::second_pass(m, in[0], in[1], in[2], in[3], in[4]);
        return std::array<T, 3>{d.grad, d.a, d.b};
      });
      return;
  }
}

template <typename Row, typename Math>
void binary_kernel(at::TensorIteratorBase& iter, Pass pass, const typename Row::args_t& args, double* sum) {
  const Math m = std::apply([](const auto&... a) { return math::Maker<Math>::make(Row::qualified_name, a...); }, args);
  // a form chosen at run time (a clamped unit, gelu's approximate): each
  // form gets its own loop
  math::visit_form(m, [&](const auto& form) { run_form(iter, pass, Row::qualified_name, form, sum); });
}

#define ACTOPS_REGISTER_PARAMETRIC(name, public_name, Math, ...) \
  ACTOPS_REGISTER_CPU_KERNEL(binary_stub<rows::name>, (&binary_kernel<rows::name, math::Math>));
#define ACTOPS_REGISTER_GATED(name, Math, ...) \
  ACTOPS_REGISTER_CPU_KERNEL(binary_stub<rows::name>, (&binary_kernel<rows::name, math::Math>));
ACTOPS_PARAMETRIC_OPS(ACTOPS_REGISTER_PARAMETRIC)
ACTOPS_GATED_OPS(ACTOPS_REGISTER_GATED)
#undef ACTOPS_REGISTER_PARAMETRIC
#undef ACTOPS_REGISTER_GATED

}  // namespace
}  // namespace CPU_CAPABILITY
}  // namespace actops::cpu
