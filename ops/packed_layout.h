// How a packed gated op holds gate and up along its dim: "gate_up",
// "up_gate" (halves) or "interleaved" (gate at even, up at odd positions).
// Shared by the op glue (ops/binary_ops.cpp) and the autograd
// (autograd/binary.h), which splits gradients into the same parts.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/string_view.h>

#include <tuple>

namespace actops {

enum class Layout { GateUp, UpGate, Interleaved };

// The layout named `layout`, or an error naming the op and the three names.
Layout parse_layout(c10::string_view layout, const char* op);

// (gate, up): views of x's two parts along dim; errors (naming the op) for
// an unknown layout, a dim out of range or an odd size.
std::tuple<at::Tensor, at::Tensor> packed_parts(const at::Tensor& x, int64_t dim, c10::string_view layout,
                                                const char* op);

// The inverse of packed_parts: one x-shaped tensor from its gate and up parts.
at::Tensor packed_join(const at::Tensor& gate, const at::Tensor& up, int64_t dim, c10::string_view layout,
                       const char* op);

}  // namespace actops
