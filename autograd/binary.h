// Autograd of a two-tensor op f(a, b) (the parametric and gated rows of the
// op table), reverse and forward mode, and of the gated rows' packed layout.
// `Op` provides the dispatcher calls and names:
//   Op::forward(a, b, args) = f
//   Op::backward(grad, a, b, args) = (grad f_a, grad f_b), each reduced to its
//       input's shape and dtype
//   Op::double_backward(gg_a, gg_b, grad, a, b, args) = the gradients of
//       gg_a . grad f_a + gg_b . grad f_b in (grad, a, b)
//   gated rows also: Op::packed(x, dim, layout, args),
//       Op::packed_backward(grad, x, dim, layout, args), Op::parts(x, dim,
//       layout) = (gate, up) views and Op::join(gate, up, dim, layout), its
//       inverse.
// The forward saves its inputs only.
//   tangents:  f: f_a t_a + f_b t_b (from the backward, with the tangents as grad)
//              backward: backward(t_grad) + the double backward's (d a, d b)
//                  for gg = (t_a, t_b)
//              double backward: linear in (gg_a, gg_b) and in grad; a
//                  tangent of a or b would need third derivatives
#pragma once

#include <ATen/ops/cat.h>
#include <ATen/ops/zeros_like.h>

#include <string>
#include <tuple>

#include "autograd/node.h"
#include "autograd/unary.h"

namespace actops::autograd {

template <typename Op, typename Args = typename Op::args_t>
struct BinaryAutograd;

template <typename Op, typename... A>
struct BinaryAutograd<Op, std::tuple<A...>> {
  using Stored = typename owned_tuple<std::tuple<A...>>::type;
  using Pair = std::tuple<at::Tensor, at::Tensor>;
  using Triple = std::tuple<at::Tensor, at::Tensor, at::Tensor>;

  struct ForwardNode : NamedNode {
    SavedVariable a, b;
    Stored args;
    variable_list apply(variable_list&& grads) override {
      if (!grads[0].defined()) {
        return {at::Tensor(), at::Tensor()};
      }
      auto [d_a, d_b] = Op::backward(grads[0], a.unpack(), b.unpack(), args);
      return {d_a, d_b};
    }
    void release_variables() override {
      a.reset_data();
      b.reset_data();
    }
  };

  struct BackwardNode : NamedNode {
    SavedVariable grad, a, b;
    Stored args;
    variable_list apply(variable_list&& gg) override {
      if (!gg[0].defined() && !gg[1].defined()) {
        return {at::Tensor(), at::Tensor(), at::Tensor()};
      }
      const at::Tensor av = a.unpack();
      const at::Tensor bv = b.unpack();
      auto [d_grad, d_a, d_b] =
          Op::double_backward(or_zeros_like(gg[0], av), or_zeros_like(gg[1], bv), grad.unpack(), av, bv, args);
      return {d_grad, d_a, d_b};
    }
    void release_variables() override {
      grad.reset_data();
      a.reset_data();
      b.reset_data();
    }
  };

  struct DoubleBackwardNode : NamedNode {
    variable_list apply(variable_list&& /*gg*/) override { refuse_third_order(op.c_str(), "backward"); }
  };

  static at::Tensor forward(const at::Tensor& a, const at::Tensor& b, A... s) {
    const auto args = std::forward_as_tuple(s...);
    return autograd_call<ForwardNode>(
        std::tie(a, b), [&] { return Op::forward(a, b, args); },
        [&](ForwardNode& node) {
          node.op = Op::name();
          node.a = SavedVariable(a, false);
          node.b = SavedVariable(b, false);
          node.args = Stored(own(s)...);
        },
        [&](const at::Tensor& out) {
          // f_a t_a + f_b t_b from the backward on a and b expanded to the
          // output's shape (views), so that nothing is reduced: differentiable
          // once more, as a second derivative of f should be.
          const auto shape = out.sym_sizes();
          const at::Tensor a_e = primal_of(a).expand_symint(shape);
          const at::Tensor b_e = primal_of(b).expand_symint(shape);
          const auto as_grad = [&](const at::Tensor& t) { return t.to(out.scalar_type()).expand_symint(shape); };
          at::Tensor t;
          if (tangent_of(a).defined()) {
            t = std::get<0>(Op::backward(as_grad(tangent_of(a)), a_e, b_e, args));
          }
          if (tangent_of(b).defined()) {
            t = add_defined(t, std::get<1>(Op::backward(as_grad(tangent_of(b)), a_e, b_e, args)));
          }
          set_tangent(out, t.to(out.scalar_type()));
        });
  }

  static Pair backward(const at::Tensor& grad, const at::Tensor& a, const at::Tensor& b, A... s) {
    const auto args = std::forward_as_tuple(s...);
    return autograd_call<BackwardNode>(
        std::tie(grad, a, b), [&] { return Op::backward(grad, a, b, args); },
        [&](BackwardNode& node) {
          node.op = Op::backward_name();
          node.grad = SavedVariable(grad, false);
          node.a = SavedVariable(a, false);
          node.b = SavedVariable(b, false);
          node.args = Stored(own(s)...);
        },
        [&](const Pair& out) {
          const at::Tensor a_p = primal_of(a);
          const at::Tensor b_p = primal_of(b);
          at::Tensor t_a, t_b;
          if (tangent_of(grad).defined()) {
            std::tie(t_a, t_b) = Op::backward(tangent_of(grad), a_p, b_p, args);
          }
          if (any_tangent(a, b)) {
            const auto d = Op::double_backward(or_zeros_like(tangent_of(a), a_p), or_zeros_like(tangent_of(b), b_p),
                                               primal_of(grad), a_p, b_p, args);
            t_a = add_defined(t_a, std::get<1>(d));
            t_b = add_defined(t_b, std::get<2>(d));
          }
          set_tangent(std::get<0>(out), t_a);
          set_tangent(std::get<1>(out), t_b);
        });
  }

  static Triple double_backward(const at::Tensor& gg_a, const at::Tensor& gg_b, const at::Tensor& grad,
                                const at::Tensor& a, const at::Tensor& b, A... s) {
    const auto args = std::forward_as_tuple(s...);
    return autograd_call<DoubleBackwardNode>(
        std::tie(gg_a, gg_b, grad, a, b), [&] { return Op::double_backward(gg_a, gg_b, grad, a, b, args); },
        [&](DoubleBackwardNode& node) { node.op = Op::double_backward_name(); },
        [&](const Triple& out) {
          if (any_tangent(a, b)) {
            refuse_third_order(Op::double_backward_name(), "forward mode");
          }
          const at::Tensor a_p = primal_of(a);
          const at::Tensor b_p = primal_of(b);
          at::Tensor t_grad, t_a, t_b;
          if (any_tangent(gg_a, gg_b)) {
            std::tie(t_grad, t_a, t_b) =
                Op::double_backward(or_zeros_like(tangent_of(gg_a), a_p), or_zeros_like(tangent_of(gg_b), b_p),
                                    primal_of(grad), a_p, b_p, args);
          }
          if (tangent_of(grad).defined()) {
            const auto d = Op::double_backward(primal_of(gg_a), primal_of(gg_b), tangent_of(grad), a_p, b_p, args);
            t_a = add_defined(t_a, std::get<1>(d));
            t_b = add_defined(t_b, std::get<2>(d));
          }
          set_tangent(std::get<0>(out), t_grad);
          set_tangent(std::get<1>(out), t_a);
          set_tangent(std::get<2>(out), t_b);
        });
  }
};

// The packed layout of a gated op: x holds gate and up along dim (in the
// op's layout), read in place; its gradients are written into the two parts
// of one tensor. The second derivatives are the split op's, on the parts.
template <typename Op, typename Args = typename Op::args_t>
struct PackedAutograd;

template <typename Op, typename... A>
struct PackedAutograd<Op, std::tuple<A...>> {
  using Stored = typename owned_tuple<std::tuple<A...>>::type;

  struct ForwardNode : NamedNode {
    SavedVariable x;
    int64_t dim = -1;
    std::string layout;
    Stored args;
    variable_list apply(variable_list&& grads) override {
      if (!grads[0].defined()) {
        return {at::Tensor()};
      }
      return {Op::packed_backward(grads[0], x.unpack(), dim, layout, args)};
    }
    void release_variables() override { x.reset_data(); }
  };

  struct BackwardNode : NamedNode {
    SavedVariable grad, x;
    int64_t dim = -1;
    std::string layout;
    Stored args;
    variable_list apply(variable_list&& gg) override {
      if (!gg[0].defined()) {
        return {at::Tensor(), at::Tensor()};
      }
      auto [gate, up] = Op::parts(x.unpack(), dim, layout);
      auto [gg_gate, gg_up] = Op::parts(gg[0], dim, layout);
      auto [d_grad, d_gate, d_up] = Op::double_backward(gg_gate, gg_up, grad.unpack(), gate, up, args);
      return {d_grad, Op::join(d_gate, d_up, dim, layout)};
    }
    void release_variables() override {
      grad.reset_data();
      x.reset_data();
    }
  };

  static at::Tensor forward(const at::Tensor& x, int64_t dim, c10::string_view layout, A... s) {
    const auto args = std::forward_as_tuple(s...);
    return autograd_call<ForwardNode>(
        std::tie(x), [&] { return Op::packed(x, dim, layout, args); },
        [&](ForwardNode& node) {
          node.op = Op::packed_name();
          node.x = SavedVariable(x, false);
          node.dim = dim;
          node.layout = own(layout);
          node.args = Stored(own(s)...);
        },
        [&](const at::Tensor& out) {
          // f_g t_g + f_u t_u, from the split backward with the tangents as grad
          auto [gate, up] = Op::parts(primal_of(x), dim, layout);
          auto [t_gate, t_up] = Op::parts(tangent_of(x), dim, layout);
          set_tangent(out, add_defined(std::get<0>(Op::backward(t_gate, gate, up, args)),
                                       std::get<1>(Op::backward(t_up, gate, up, args))));
        });
  }

  static at::Tensor backward(const at::Tensor& grad, const at::Tensor& x, int64_t dim, c10::string_view layout,
                             A... s) {
    const auto args = std::forward_as_tuple(s...);
    return autograd_call<BackwardNode>(
        std::tie(grad, x), [&] { return Op::packed_backward(grad, x, dim, layout, args); },
        [&](BackwardNode& node) {
          node.op = Op::packed_backward_name();
          node.grad = SavedVariable(grad, false);
          node.x = SavedVariable(x, false);
          node.dim = dim;
          node.layout = own(layout);
          node.args = Stored(own(s)...);
        },
        [&](const at::Tensor& out) {
          const at::Tensor x_p = primal_of(x);
          at::Tensor t;
          if (tangent_of(grad).defined()) {
            t = Op::packed_backward(tangent_of(grad), x_p, dim, layout, args);
          }
          if (tangent_of(x).defined()) {
            auto [gate, up] = Op::parts(x_p, dim, layout);
            auto [t_gate, t_up] = Op::parts(tangent_of(x), dim, layout);
            const auto d = Op::double_backward(t_gate, t_up, primal_of(grad), gate, up, args);
            t = add_defined(t, Op::join(std::get<1>(d), std::get<2>(d), dim, layout));
          }
          set_tangent(out, t);
        });
  }
};

}  // namespace actops::autograd
