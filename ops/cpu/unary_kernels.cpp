// The CPU kernels of every unary row of the op table, compiled once per
// instruction set (see ops/cpu/dispatch.h).
#include <tuple>

#include "ops/cpu/loops.h"
#include "ops/kernel_stubs.h"
#include "ops/math/all.h"
#include "ops/rows.h"

namespace actops::cpu {
inline namespace CPU_CAPABILITY {
namespace {

// One pass of one form of the math (a form has no run-time choices left).
// The formula is inlined into its loop: GCC otherwise keeps a long one
// (a fast and a deep exp path) out of line and calls it once per vector.
template <typename Form>
void run_form(at::TensorIteratorBase& iter, Pass pass, const char* op, const Form& m) {
  switch (pass) {
    case Pass::Value:
      map_value<math::is_light_v<Form>>(iter, op, [m](auto x) ACTOPS_LAMBDA_INLINE { return m.forward(x); });
      return;
    case Pass::First:
      map_scaled<math::is_light_v<Form>>(iter, op, [m](auto x) ACTOPS_LAMBDA_INLINE { return m.derivative(x); });
      return;
    case Pass::Second:
      map_scaled<math::is_light_v<Form>>(iter, op, [m](auto x) ACTOPS_LAMBDA_INLINE { return m.second_derivative(x); });
      return;
  }
}

template <typename Row, typename Math>
void unary_kernel(at::TensorIteratorBase& iter, Pass pass, const typename Row::args_t& args) {
  const Math m = std::apply([](const auto&... a) { return math::Maker<Math>::make(Row::qualified_name, a...); }, args);
  // a form chosen at run time (gelu's approximate): each form its own loop
  math::visit_form(m, [&](const auto& form) { run_form(iter, pass, Row::qualified_name, form); });
}

#define ACTOPS_REGISTER_UNARY(name, Math, ...) \
  ACTOPS_REGISTER_CPU_KERNEL(unary_stub<rows::name>, (&unary_kernel<rows::name, math::Math>));
ACTOPS_UNARY_OPS(ACTOPS_REGISTER_UNARY)
#undef ACTOPS_REGISTER_UNARY

}  // namespace
}  // namespace CPU_CAPABILITY
}  // namespace actops::cpu
