// The autograd of every actops op is written the way ATen's generated
// autograd kernels are (torch/csrc/autograd/generated/VariableType_*.cpp):
// an Autograd-key kernel that runs the op below autograd, attaches a Node
// subclass holding SavedVariables to the differentiable outputs, and sets
// the outputs' forward-mode tangents from the inputs' tangents. Unlike a
// torch::autograd::Function, such a node is seen by every torch.func
// transform, and forward mode (jvp, jacfwd, forward_ad) gets real tangents.
// The derivatives that nodes and tangents compute are themselves actops ops
// with this autograd, so derivatives of the second order follow; the third
// order is refused with an error naming the op.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/core/grad_mode.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/utils.h>
#include <torch/csrc/autograd/saved_variable.h>

#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

namespace actops::autograd {

using torch::autograd::Node;
using torch::autograd::SavedVariable;
using torch::autograd::variable_list;

// How this torch holds autograd nodes: by std::shared_ptr (torch 2.11, the
// GPU machine's release) or by c10::intrusive_ptr (newer releases). The type
// of an Edge's function says which, so one source builds against both.
inline constexpr bool kSharedNodes = std::is_same_v<decltype(torch::autograd::Edge::function), std::shared_ptr<Node>>;
template <typename N>
using NodePtr = std::conditional_t<kSharedNodes, std::shared_ptr<N>, c10::intrusive_ptr<N>>;
template <typename N>
NodePtr<N> make_node() {
  if constexpr (kSharedNodes) {
    return std::make_shared<N>();
  } else {
    return c10::make_intrusive<N>();
  }
}

// A node of type N for these inputs when one of them requires grad (and grad
// mode is on), its edges pointing at them in order; else null.
template <typename N, typename... Tensors>
NodePtr<N> node_for(const Tensors&... inputs) {
  if (!torch::autograd::compute_requires_grad(inputs...)) {
    return {};
  }
  auto node = make_node<N>();
  node->set_next_edges(torch::autograd::collect_next_edges(inputs...));
  return node;
}

// Makes `node` (if any) the grad_fn of `outputs`, in its output order.
template <typename Ptr, typename... Tensors>
void attach(const Ptr& node, const Tensors&... outputs) {
  if (node) {
    const NodePtr<Node> base = node;
    (torch::autograd::set_history(outputs, base), ...);
  }
}

// Forward mode: the tangent of t (undefined if it has none) and its primal.
inline at::Tensor tangent_of(const at::Tensor& t) { return t.defined() ? t._fw_grad(/*level=*/0) : at::Tensor(); }
inline at::Tensor primal_of(const at::Tensor& t) { return tangent_of(t).defined() ? t._fw_primal(/*level=*/0) : t; }
template <typename... Tensors>
bool any_tangent(const Tensors&... ts) {
  return (... || tangent_of(ts).defined());
}
inline void set_tangent(const at::Tensor& out, const at::Tensor& t) {
  if (t.defined() && out.defined()) {
    out._set_fw_grad(t, /*level=*/0, /*is_inplace_op=*/false);
  }
}

// Whether a call must go through the autograd kernel at all: a gradient to
// record or a tangent to carry.
template <typename... Tensors>
bool needs_autograd(const Tensors&... inputs) {
  return torch::autograd::compute_requires_grad(inputs...) || any_tangent(inputs...);
}

// t, or zeros like `like` where autograd left t undefined (an unused output).
at::Tensor or_zeros_like(const at::Tensor& t, const at::Tensor& like);
// a + b where either may be undefined (a missing term).
at::Tensor add_defined(const at::Tensor& a, const at::Tensor& b);

[[noreturn]] void refuse_third_order(const char* op, const char* mode);

// Runs `f` below autograd: the kernels of the device (CPU, Meta, batching).
template <typename F>
decltype(auto) below_autograd(const F& f) {
  at::AutoDispatchBelowADInplaceOrView guard;
  return f();
}

// Makes `node` (if any) the grad_fn of an op's outputs: one tensor or a tuple.
template <typename Ptr>
void attach_outputs(const Ptr& node, const at::Tensor& out) {
  attach(node, out);
}
template <typename Ptr, typename... Tensors>
void attach_outputs(const Ptr& node, const std::tuple<Tensors...>& outs) {
  std::apply([&](const auto&... o) { attach(node, o...); }, outs);
}

// The sequence of every autograd kernel, once. With no gradient to record
// and no tangent to carry, run() below autograd and nothing more. Otherwise:
// a node of type N with edges to `inputs` where one of them requires grad,
// filled by fill(node) (the op's name, the saved inputs and arguments)
// before the run; run() below autograd; the node attached to its outputs;
// and, where an input has a tangent, tangents(outputs) sets theirs.
template <typename N, typename... Inputs, typename Run, typename Fill, typename Tangents>
auto autograd_call(const std::tuple<const Inputs&...>& inputs, const Run& run, const Fill& fill,
                   const Tangents& tangents) {
  const auto all = [&](const auto& f) { return std::apply(f, inputs); };
  if (!all([](const auto&... t) { return needs_autograd(t...); })) {
    return below_autograd(run);
  }
  auto node = all([](const auto&... t) { return node_for<N>(t...); });
  if (node) {
    fill(*node);
  }
  auto out = below_autograd(run);
  attach_outputs(node, out);
  if (all([](const auto&... t) { return any_tangent(t...); })) {
    tangents(out);
  }
  return out;
}

// The same sequence for an op whose node keeps one of its results (trelu's
// mask, maxout's indices) and whose first result alone is differentiable:
// run() below autograd, then the node filled by fill(node, results) and
// attached to the first result, then tangents(results).
template <typename N, typename... Inputs, typename Run, typename Fill, typename Tangents>
auto autograd_call_keeping(const std::tuple<const Inputs&...>& inputs, const Run& run, const Fill& fill,
                           const Tangents& tangents) {
  const auto all = [&](const auto& f) { return std::apply(f, inputs); };
  auto results = below_autograd(run);
  auto node = all([](const auto&... t) { return node_for<N>(t...); });
  if (node) {
    fill(*node, results);
    attach(node, std::get<0>(results));
  }
  if (all([](const auto&... t) { return any_tangent(t...); })) {
    tangents(results);
  }
  return results;
}

// A node that keeps the op's name for its own name() and errors.
struct NamedNode : Node {
  std::string op;
  std::string name() const override { return op; }
};

}  // namespace actops::autograd
