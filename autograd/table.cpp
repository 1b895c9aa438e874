// The Autograd kernels of every row of the op table (actops/op_table.h),
// registered here over the table, as the ops' device and Meta kernels are in
// ops/: unary rows (the op, its backward and double backward, in place) and
// two-tensor rows (the op, its backward and double backward; gated rows also
// the packed op and its backward).
#include <torch/library.h>

#include "autograd/binary.h"
#include "autograd/calls.h"
#include "autograd/unary.h"
#include "ops/registration.h"

namespace actops {
namespace {

template <typename Row>
void register_unary(torch::Library& m) {
  using Autograd = autograd::UnaryAutograd<autograd::Calls<Row>>;
  const std::string op = Row::name;
  register_kernel(m, op, c10::DispatchKey::Autograd, &Autograd::forward);
  register_kernel(m, op + "_backward", c10::DispatchKey::Autograd, &Autograd::backward);
  register_kernel(m, op + "_double_backward", c10::DispatchKey::Autograd, &Autograd::double_backward);
  register_kernel(m, op + "_", c10::DispatchKey::Autograd, &Autograd::inplace);
}

template <typename Row>
void register_binary(torch::Library& m) {
  using Autograd = autograd::BinaryAutograd<autograd::Calls<Row>>;
  const std::string op = Row::name;
  register_kernel(m, op, c10::DispatchKey::Autograd, &Autograd::forward);
  register_kernel(m, op + "_backward", c10::DispatchKey::Autograd, &Autograd::backward);
  register_kernel(m, op + "_double_backward", c10::DispatchKey::Autograd, &Autograd::double_backward);
  if constexpr (Row::kind == rows::Kind::Gated) {
    using Packed = autograd::PackedAutograd<autograd::Calls<Row>>;
    register_kernel(m, op + "_packed", c10::DispatchKey::Autograd, &Packed::forward);
    register_kernel(m, op + "_packed_backward", c10::DispatchKey::Autograd, &Packed::backward);
  }
}

TORCH_LIBRARY_IMPL(actops, Autograd, m) {
#define ACTOPS_AUTOGRAD_UNARY(name, ...) register_unary<rows::name>(m);
#define ACTOPS_AUTOGRAD_PARAMETRIC(name, ...) register_binary<rows::name>(m);
#define ACTOPS_AUTOGRAD_GATED(name, ...) register_binary<rows::name>(m);
  ACTOPS_UNARY_OPS(ACTOPS_AUTOGRAD_UNARY)
  ACTOPS_PARAMETRIC_OPS(ACTOPS_AUTOGRAD_PARAMETRIC)
  ACTOPS_GATED_OPS(ACTOPS_AUTOGRAD_GATED)
#undef ACTOPS_AUTOGRAD_UNARY
#undef ACTOPS_AUTOGRAD_PARAMETRIC
#undef ACTOPS_AUTOGRAD_GATED
}

}  // namespace
}  // namespace actops
