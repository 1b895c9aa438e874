#include "ops/packed_layout.h"

#include <ATen/ops/cat.h>
#include <ATen/ops/stack.h>

#include "ops/op_support.h"

namespace actops {

Layout parse_layout(c10::string_view layout, const char* op) {
  if (layout == "gate_up") {
    return Layout::GateUp;
  }
  if (layout == "up_gate") {
    return Layout::UpGate;
  }
  TORCH_CHECK(layout == "interleaved", op, ": layout must be 'gate_up', 'up_gate' or 'interleaved', got '", layout,
              "'");
  return Layout::Interleaved;
}

std::tuple<at::Tensor, at::Tensor> packed_parts(const at::Tensor& x, int64_t dim, c10::string_view layout,
                                                const char* op) {
  const Layout kind = parse_layout(layout, op);
  check_floating(x, op, "x");
  const int64_t ndim = x.dim();
  TORCH_CHECK(ndim > 0, op, ": x must have at least one dimension");
  TORCH_CHECK(dim >= -ndim && dim < ndim, op, ": dim ", dim, " is out of range for x with ", ndim, " dimensions");
  const int64_t d = dim < 0 ? dim + ndim : dim;
  const c10::SymInt size = x.sym_size(d);
  TORCH_CHECK(size % 2 == 0, op, ": the size of dim ", dim, " (", size,
              ") must be even: it holds gate and up (layout '", layout, "')");
  const c10::SymInt half = size / 2;
  switch (kind) {
    case Layout::GateUp:
      return {x.narrow_symint(d, 0, half), x.narrow_symint(d, half, half)};
    case Layout::UpGate:
      return {x.narrow_symint(d, half, half), x.narrow_symint(d, 0, half)};
    case Layout::Interleaved:
    default: {
      const at::Tensor pairs = x.unflatten_symint(d, {half, 2});
      return {pairs.select(d + 1, 0), pairs.select(d + 1, 1)};
    }
  }
}

at::Tensor packed_join(const at::Tensor& gate, const at::Tensor& up, int64_t dim, c10::string_view layout,
                       const char* op) {
  const int64_t d = dim < 0 ? dim + gate.dim() : dim;
  switch (parse_layout(layout, op)) {
    case Layout::GateUp:
      return at::cat({gate, up}, d);
    case Layout::UpGate:
      return at::cat({up, gate}, d);
    case Layout::Interleaved:
    default:
      return at::stack({gate, up}, d + 1).flatten(d, d + 1);
  }
}

}  // namespace actops
