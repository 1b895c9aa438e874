// The one TORCH_LIBRARY(actops) of the process. Every schema and kernel is
// registered here, through the op families: the rows of the op table
// (actops/op_table.h) and the ops whose backward keeps something other than
// their inputs (trelu's mask, maxout's indices).
#include <torch/library.h>

#include <string>

#include "actops/actops.h"
#include "ops/registration.h"

extern "C" const int actops_library_anchor = 1;

namespace actops {

namespace detail {
c10::OperatorHandle find_op(const char* name) { return c10::Dispatcher::singleton().findSchemaOrThrow(name, ""); }
c10::OperatorHandle find_op_overload(const char* name, const char* overload) {
  return c10::Dispatcher::singleton().findSchemaOrThrow(name, overload);
}
}  // namespace detail

TORCH_LIBRARY(actops, m) {
  define_unary_ops(m);
  define_binary_ops(m);
  define_trelu_mask_ops(m);
  define_maxout_ops(m);
  m.def("cpu_capability() -> str", [] { return std::string(actops::cpu_capability()); });
}

}  // namespace actops
