// Autograd of a unary op f (every unary row of the op table), reverse and
// forward mode. `Op` provides the dispatcher calls and names:
//   Op::forward(x, args), Op::backward(grad, x, args) = grad f'(x),
//   Op::double_backward(grad, x, args) = grad f''(x), with args a tuple of
//   the op's scalar arguments; Op::name() / backward_name() /
//   double_backward_name(), "actops.<op>..." for nodes and errors.
// The forward saves x only; f' and f'' are recomputed from it. The in-place
// form f_(x) (Op::inplace, "actops.<op>_") overwrites x, so with a gradient
// or a tangent to compute it first saves a copy of x: one more tensor of x's
// size alive until the backward, and one more pass over memory.
//   tangents:  f: f'(x) t_x            backward: t_grad f' + grad f'' t_x
//              double_backward: t_grad f'' (a tangent of x would need f''')
#pragma once

#include <ATen/core/LegacyTypeDispatch.h>
#include <ATen/ops/mul.h>
#include <torch/csrc/autograd/VariableTypeUtils.h>

#include <string>
#include <tuple>

#include "autograd/node.h"

namespace actops::autograd {

// The owning form of a scalar argument, kept in a node after the call.
template <typename T>
struct owned {
  using type = T;
};
template <>
struct owned<c10::string_view> {
  using type = std::string;
};
template <typename T>
const T& own(const T& v) {
  return v;
}
inline std::string own(c10::string_view v) { return std::string(v.data(), v.size()); }
template <typename Tuple>
struct owned_tuple;
template <typename... A>
struct owned_tuple<std::tuple<A...>> {
  using type = std::tuple<typename owned<A>::type...>;
};

template <typename Op, typename Args = typename Op::args_t>
struct UnaryAutograd;

template <typename Op, typename... A>
struct UnaryAutograd<Op, std::tuple<A...>> {
  using Stored = typename owned_tuple<std::tuple<A...>>::type;

  struct ForwardNode : NamedNode {
    SavedVariable x;
    Stored args;
    variable_list apply(variable_list&& grads) override {
      if (!grads[0].defined()) {
        return {at::Tensor()};
      }
      return {Op::backward(grads[0], x.unpack(), args)};
    }
    void release_variables() override { x.reset_data(); }
  };

  struct BackwardNode : NamedNode {
    SavedVariable grad, x;
    Stored args;
    variable_list apply(variable_list&& gg) override {
      variable_list out(2);
      if (!gg[0].defined()) {
        return out;
      }
      const at::Tensor xv = x.unpack();
      if (task_should_compute_output(0)) {
        out[0] = Op::backward(gg[0], xv, args);
      }
      if (task_should_compute_output(1)) {
        out[1] = Op::double_backward(at::mul(gg[0], grad.unpack()), xv, args);
      }
      return out;
    }
    void release_variables() override {
      grad.reset_data();
      x.reset_data();
    }
  };

  struct DoubleBackwardNode : NamedNode {
    SavedVariable x;
    Stored args;
    variable_list apply(variable_list&& gg) override {
      if (task_should_compute_output(1)) {
        refuse_third_order(Op::double_backward_name(), "backward");
      }
      variable_list out(2);
      if (gg[0].defined() && task_should_compute_output(0)) {
        out[0] = Op::double_backward(gg[0], x.unpack(), args);
      }
      return out;
    }
    void release_variables() override { x.reset_data(); }
  };

  static at::Tensor forward(const at::Tensor& x, A... a) {
    const auto args = std::forward_as_tuple(a...);
    return autograd_call<ForwardNode>(
        std::tie(x), [&] { return Op::forward(x, args); },
        [&](ForwardNode& node) {
          node.op = Op::name();
          node.x = SavedVariable(x, false);
          node.args = Stored(own(a)...);
        },
        [&](const at::Tensor& out) { set_tangent(out, Op::backward(tangent_of(x), primal_of(x), args)); });
  }

  // As ATen's generated kernels of in-place ops: autograd's errors for a
  // leaf that requires grad (check_inplace), the node moved onto x
  // (rebase_history, views included), the version bump by the
  // ADInplaceOrView kernel below, the tangent updated in place.
  static at::Tensor& inplace(at::Tensor& x, A... a) {
    const auto args = std::forward_as_tuple(a...);
    const bool requires_grad = torch::autograd::compute_requires_grad(x);
    torch::autograd::check_inplace(x, requires_grad);
    const at::Tensor t_x = tangent_of(x);
    at::Tensor original;
    NodePtr<ForwardNode> node;
    if (requires_grad || t_x.defined()) {
      original = x.clone();  // recorded: a double backward reaches x's history through it
    }
    if (requires_grad) {
      node = make_node<ForwardNode>();
      node->set_next_edges(torch::autograd::collect_next_edges(x));
      node->op = Op::inplace_name();
      node->x = SavedVariable(original, false);
      node->args = Stored(own(a)...);
    }
    {
      at::AutoDispatchBelowAutograd guard;  // not below ADInplaceOrView: the version must move
      Op::inplace(x, args);
    }
    if (node) {
      torch::autograd::rebase_history(x, node);
    }
    if (t_x.defined()) {
      t_x.copy_(Op::backward(t_x, primal_of(original), args));
    }
    return x;
  }

  static at::Tensor backward(const at::Tensor& grad, const at::Tensor& x, A... a) {
    const auto args = std::forward_as_tuple(a...);
    return autograd_call<BackwardNode>(
        std::tie(grad, x), [&] { return Op::backward(grad, x, args); },
        [&](BackwardNode& node) {
          node.op = Op::backward_name();
          node.grad = SavedVariable(grad, false);
          node.x = SavedVariable(x, false);
          node.args = Stored(own(a)...);
        },
        [&](const at::Tensor& out) {
          const at::Tensor t_grad = tangent_of(grad);
          const at::Tensor t_x = tangent_of(x);
          const at::Tensor x_p = primal_of(x);
          set_tangent(out, add_defined(t_grad.defined() ? Op::backward(t_grad, x_p, args) : at::Tensor(),
                                       t_x.defined() ? Op::double_backward(at::mul(primal_of(grad), t_x), x_p, args)
                                                     : at::Tensor()));
        });
  }

  static at::Tensor double_backward(const at::Tensor& grad, const at::Tensor& x, A... a) {
    const auto args = std::forward_as_tuple(a...);
    return autograd_call<DoubleBackwardNode>(
        std::tie(grad, x), [&] { return Op::double_backward(grad, x, args); },
        [&](DoubleBackwardNode& node) {
          node.op = Op::double_backward_name();
          node.x = SavedVariable(x, false);
          node.args = Stored(own(a)...);
        },
        [&](const at::Tensor& out) {
          if (tangent_of(x).defined()) {
            refuse_third_order(Op::double_backward_name(), "forward mode");
          }
          set_tangent(out, Op::double_backward(tangent_of(grad), primal_of(x), args));
        });
  }
};

}  // namespace actops::autograd
