// Autograd of trelu with a fixed alpha. The forward keeps the 1-byte mask
// x > threshold, not x; the backward is linear in grad given the mask, so it
// is its own derivative in grad (and 0 in x). Tangents: the same masked
// product applied to the tangent. In place (trelu_), with a gradient or a
// tangent to record, x is overwritten by trelu_with_mask_ and only the mask
// is kept: truly in place, nothing of x's size saved.
#include <ATen/core/LegacyTypeDispatch.h>
#include <torch/csrc/autograd/VariableTypeUtils.h>
#include <torch/library.h>

#include "actops/actops.h"
#include "autograd/node.h"
#include "ops/registration.h"

namespace actops {
namespace {

using namespace actops::autograd;
using Pair = std::tuple<at::Tensor, at::Tensor>;

// d(out)/d(in) = where(mask, 1, alpha): for the forward and for the backward
// (in its grad).
struct MaskedNode : NamedNode {
  SavedVariable mask;
  double alpha = 0.0;
  variable_list apply(variable_list&& grads) override {
    if (!grads[0].defined()) {
      return {at::Tensor()};
    }
    return {detail::trelu_backward(grads[0], mask.unpack(), alpha)};
  }
  void release_variables() override { mask.reset_data(); }
};

void fill(MaskedNode& node, const char* op, const at::Tensor& mask, double alpha) {
  node.op = op;
  node.mask = SavedVariable(mask, false);
  node.alpha = alpha;
}

Pair trelu_with_mask_autograd(const at::Tensor& x, double threshold, double alpha) {
  return autograd_call_keeping<MaskedNode>(
      std::tie(x), [&] { return trelu_with_mask(x, threshold, alpha); },
      [&](MaskedNode& node, const Pair& results) { fill(node, "actops.trelu", std::get<1>(results), alpha); },
      [&](const Pair& results) {
        set_tangent(std::get<0>(results), detail::trelu_backward(tangent_of(x), std::get<1>(results), alpha));
      });
}

at::Tensor trelu_autograd(const at::Tensor& x, double threshold, double alpha) {
  if (!needs_autograd(x)) {
    return below_autograd([&] { return trelu(x, threshold, alpha); });
  }
  return std::get<0>(trelu_with_mask_autograd(x, threshold, alpha));
}

at::Tensor trelu_backward_autograd(const at::Tensor& grad, const at::Tensor& mask, double alpha) {
  return autograd_call<MaskedNode>(
      std::tie(grad), [&] { return detail::trelu_backward(grad, mask, alpha); },
      [&](MaskedNode& node) { fill(node, "actops.trelu_backward", mask, alpha); },
      [&](const at::Tensor& out) { set_tangent(out, detail::trelu_backward(tangent_of(grad), mask, alpha)); });
}

// As ATen's generated kernels of in-place ops: check_inplace, the node moved
// onto x (rebase_history), the version bumped by the ADInplaceOrView kernel
// (so AutoDispatchBelowAutograd, not below ADInplaceOrView), the tangent
// updated in place.
at::Tensor trelu_with_mask_inplace_autograd(at::Tensor& x, double threshold, double alpha) {
  static const auto op =
      detail::find_op_overload("actops::trelu_with_mask_", "").typed<at::Tensor(at::Tensor&, double, double)>();
  const bool requires_grad = torch::autograd::compute_requires_grad(x);
  torch::autograd::check_inplace(x, requires_grad);
  const at::Tensor t_x = tangent_of(x);
  auto node = node_for<MaskedNode>(x);
  at::Tensor mask;
  {
    at::AutoDispatchBelowAutograd guard;
    mask = op.call(x, threshold, alpha);
  }
  if (node) {
    fill(*node, "actops.trelu_", mask, alpha);
    torch::autograd::rebase_history(x, node);
  }
  if (t_x.defined()) {
    t_x.copy_(detail::trelu_backward(t_x, mask, alpha));
  }
  return mask;
}

at::Tensor& trelu_inplace_autograd(at::Tensor& x, double threshold, double alpha) {
  if (needs_autograd(x)) {
    trelu_with_mask_inplace_autograd(x, threshold, alpha);
    return x;
  }
  at::AutoDispatchBelowAutograd guard;
  return trelu_(x, threshold, alpha);
}

TORCH_LIBRARY_IMPL(actops, Autograd, m) {
  register_kernel(m, "trelu", c10::DispatchKey::Autograd, &trelu_autograd);
  register_kernel(m, "trelu_with_mask", c10::DispatchKey::Autograd, &trelu_with_mask_autograd);
  register_kernel(m, "trelu_backward", c10::DispatchKey::Autograd, &trelu_backward_autograd);
  register_kernel(m, "trelu_", c10::DispatchKey::Autograd, &trelu_inplace_autograd);
  register_kernel(m, "trelu_with_mask_", c10::DispatchKey::Autograd, &trelu_with_mask_inplace_autograd);
}

}  // namespace
}  // namespace actops
