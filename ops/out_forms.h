// What every out= and in-place overload shares, as ATen's generated kernels
// do it for its own `.out` and `op_` overloads:
// - the schema text: "<op>.out(<args>, *, Tensor(a!) out) -> Tensor(a!)",
//   in-place ones tagged `inplace`;
// - the checks of `out` (dtype and device; the size is resized, as
//   at::native::resize_output does);
// - the Autograd kernel of an out= overload, which refuses to differentiate
//   (ATen: "functions with out=... arguments don't support automatic
//   differentiation"), and the ADInplaceOrView kernel of every overload that
//   writes a tensor, which bumps its version counter so that autograd sees
//   the change of a tensor it saved. Both are boxed, one for every schema.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/library.h>

#include <string>
#include <vector>

namespace actops {

// Tags of an out= overload and of an in-place overload.
const std::vector<at::Tag>& out_tags();
const std::vector<at::Tag>& inplace_tags();

// "(Tensor x" + params → "(Tensor x" + params + ", *, Tensor(a!) out) -> Tensor(a!)":
// the schema of `name`.out from the functional op's argument text (without
// the parentheses) that already contains a `*` or not.
std::string out_schema(const std::string& name, const std::string& arguments);

// `out` can hold a result of `dtype` computed from `like`: same dtype (an
// error naming the op otherwise, as ATen's out= ops refuse a lossy cast) and
// same device.
void check_out(const at::Tensor& out, at::ScalarType dtype, const at::Tensor& like, const char* op);

// `out` may share elements with an input of an element-wise loop (called
// `arg` in the message) only as exactly that view: each element is then read
// before it is written, as in place. Any other overlap would corrupt the
// result, and TensorIterator's own check gives up on tensors that are not
// dense (a packed input's gate and up views, strided slices): an error
// naming the op. Kernels only (real addresses), not Meta.
void check_out_overlap(const at::Tensor& out, const at::Tensor& input, const char* arg, const char* op);

// Registers the Autograd (refusing gradients) and ADInplaceOrView (version
// bump) kernels of the out= overload `name` ("mish.out").
void register_out_autograd(torch::Library& m, const std::string& name);
// Registers the ADInplaceOrView kernel (version bump) and the Functionalize
// kernel (functional op + copy) of an out= or in-place op.
void register_inplace_view(torch::Library& m, const std::string& name);

}  // namespace actops
