// Autograd of maxout. The forward keeps only the index of each group's first
// maximum; the backward sends each group's gradient there. The backward is
// linear in grad given the indices, so its own derivative gathers the
// incoming gradient at those indices (differentiable ATen ops). Tangents: the
// forward's is the input's tangent at each group's maximum (a gather), the
// backward's is the backward of the grad's tangent.
#include <ATen/ops/gather.h>
#include <torch/library.h>

#include "actops/actops.h"
#include "autograd/node.h"
#include "ops/registration.h"

namespace actops {
namespace {

using namespace actops::autograd;
using Pair = std::tuple<at::Tensor, at::Tensor>;

// The values of t (x-shaped) at each group's index: (grad-shaped).
at::Tensor gather_at_indices(const at::Tensor& t, const at::Tensor& indices, int64_t pieces, int64_t dim) {
  const int64_t d = dim < 0 ? dim + t.dim() : dim;
  return t.unflatten(d, {t.size(d) / pieces, pieces})
      .gather(d + 1, indices.to(at::kLong).unsqueeze(d + 1))
      .squeeze(d + 1);
}

struct MaxoutNode : NamedNode {
  SavedVariable indices;
  int64_t pieces = 1, dim = 1;
  variable_list apply(variable_list&& grads) override {
    if (!grads[0].defined()) {
      return {at::Tensor()};
    }
    return {detail::maxout_backward(grads[0], indices.unpack(), pieces, dim)};
  }
  void release_variables() override { indices.reset_data(); }
};

struct MaxoutBackwardNode : MaxoutNode {
  variable_list apply(variable_list&& gg) override {
    if (!gg[0].defined()) {
      return {at::Tensor()};
    }
    return {gather_at_indices(gg[0], indices.unpack(), pieces, dim)};
  }
};

template <typename N>
void fill(N& node, const char* op, const at::Tensor& indices, int64_t pieces, int64_t dim) {
  node.op = op;
  node.indices = SavedVariable(indices, false);
  node.pieces = pieces;
  node.dim = dim;
}

Pair maxout_with_indices_autograd(const at::Tensor& x, int64_t pieces, int64_t dim) {
  return autograd_call_keeping<MaxoutNode>(
      std::tie(x), [&] { return maxout_with_indices(x, pieces, dim); },
      [&](MaxoutNode& node, const Pair& results) { fill(node, "actops.maxout", std::get<1>(results), pieces, dim); },
      [&](const Pair& results) {
        set_tangent(std::get<0>(results), gather_at_indices(tangent_of(x), std::get<1>(results), pieces, dim));
      });
}

at::Tensor maxout_autograd(const at::Tensor& x, int64_t pieces, int64_t dim) {
  if (!needs_autograd(x)) {
    return below_autograd([&] { return maxout(x, pieces, dim); });
  }
  return std::get<0>(maxout_with_indices_autograd(x, pieces, dim));
}

at::Tensor maxout_backward_autograd(const at::Tensor& grad, const at::Tensor& indices, int64_t pieces, int64_t dim) {
  return autograd_call<MaxoutBackwardNode>(
      std::tie(grad), [&] { return detail::maxout_backward(grad, indices, pieces, dim); },
      [&](MaxoutBackwardNode& node) { fill(node, "actops.maxout_backward", indices, pieces, dim); },
      [&](const at::Tensor& out) {
        set_tangent(out, detail::maxout_backward(tangent_of(grad), indices, pieces, dim));
      });
}

TORCH_LIBRARY_IMPL(actops, Autograd, m) {
  register_kernel(m, "maxout", c10::DispatchKey::Autograd, &maxout_autograd);
  register_kernel(m, "maxout_with_indices", c10::DispatchKey::Autograd, &maxout_with_indices_autograd);
  register_kernel(m, "maxout_backward", c10::DispatchKey::Autograd, &maxout_backward_autograd);
}

}  // namespace
}  // namespace actops
