// Autograd for an element-wise activation f, written once for every op that
// has no parameters. `Ops` names the op and its three dispatcher entry points:
//   Ops::name                       "actops.<op>"
//   Ops::forward(x)                 f(x)
//   Ops::backward(grad, x)          grad * f'(x)
//   Ops::double_backward(grad, x)   grad * f''(x)
// The backward is an op with its own autograd, so double backward works; the
// double-backward op differentiates once more in grad (it is linear in it)
// and stops at x.
#pragma once

#include <ATen/core/grad_mode.h>
#include <ATen/ops/mul.h>
#include <torch/autograd.h>

namespace actops::autograd {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

template <typename Ops>
struct ActivationDoubleBackward : torch::autograd::Function<ActivationDoubleBackward<Ops>> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& grad, const at::Tensor& x) {
    ctx->save_for_backward({x});
    at::AutoDispatchBelowADInplaceOrView guard;
    return Ops::double_backward(grad, x);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    TORCH_CHECK(
        !ctx->needs_input_grad(1), Ops::name,
        ": derivatives of third order and higher are not implemented");
    const at::Tensor x = ctx->get_saved_variables()[0];
    return {Ops::double_backward(grad_out[0], x), at::Tensor()};
  }
};

template <typename Ops>
struct ActivationBackward : torch::autograd::Function<ActivationBackward<Ops>> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& grad, const at::Tensor& x) {
    ctx->save_for_backward({grad, x});
    at::AutoDispatchBelowADInplaceOrView guard;
    return Ops::backward(grad, x);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& grad = saved[0];
    const at::Tensor& x = saved[1];
    const at::Tensor& gg = grad_out[0];
    at::Tensor d_grad, d_x;
    if (ctx->needs_input_grad(0)) {
      d_grad = Ops::backward(gg, x);
    }
    if (ctx->needs_input_grad(1)) {
      d_x = Ops::double_backward(at::mul(gg, grad), x);
    }
    return {d_grad, d_x};
  }
};

template <typename Ops>
struct ActivationFunction : torch::autograd::Function<ActivationFunction<Ops>> {
  // Saves its input only: f is cheap to recompute, so the backward needs
  // nothing else.
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x) {
    ctx->save_for_backward({x});
    at::AutoDispatchBelowADInplaceOrView guard;
    return Ops::forward(x);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    const at::Tensor x = ctx->get_saved_variables()[0];
    return {Ops::backward(grad_out[0], x)};
  }
};

// True when a call with these inputs must be recorded for backward.
inline bool records_grad(const at::Tensor& a) {
  return at::GradMode::is_enabled() && a.requires_grad();
}
inline bool records_grad(const at::Tensor& a, const at::Tensor& b) {
  return at::GradMode::is_enabled() && (a.requires_grad() || b.requires_grad());
}

// The Autograd-key kernels. Without grad to record they go straight to the
// device kernel, skipping the cost of building a graph node.
template <typename Ops>
at::Tensor activation_autograd(const at::Tensor& x) {
  if (!records_grad(x)) {
    at::AutoDispatchBelowADInplaceOrView guard;
    return Ops::forward(x);
  }
  return ActivationFunction<Ops>::apply(x);
}

template <typename Ops>
at::Tensor activation_backward_autograd(const at::Tensor& grad, const at::Tensor& x) {
  if (!records_grad(grad, x)) {
    at::AutoDispatchBelowADInplaceOrView guard;
    return Ops::backward(grad, x);
  }
  return ActivationBackward<Ops>::apply(grad, x);
}

template <typename Ops>
at::Tensor activation_double_backward_autograd(const at::Tensor& grad, const at::Tensor& x) {
  if (!records_grad(grad, x)) {
    at::AutoDispatchBelowADInplaceOrView guard;
    return Ops::double_backward(grad, x);
  }
  return ActivationDoubleBackward<Ops>::apply(grad, x);
}

}  // namespace actops::autograd

// Registers the three Autograd kernels of an activation `op` whose Ops struct
// is `ops` (see above).
#define ACTOPS_REGISTER_ACTIVATION_AUTOGRAD(m, op, ops)                                   \
  do {                                                                                    \
    (m).impl(#op, &::actops::autograd::activation_autograd<ops>);                         \
    (m).impl(#op "_backward", &::actops::autograd::activation_backward_autograd<ops>);    \
    (m).impl(                                                                             \
        #op "_double_backward", &::actops::autograd::activation_double_backward_autograd<ops>); \
  } while (0)
