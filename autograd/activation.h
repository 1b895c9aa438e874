// Autograd for an element-wise activation f with fixed scalar parameters
// (Args: none for mish, double beta for swish, ...), written once. `Ops`
// names the op and its three dispatcher entry points:
//   Ops::name                             "actops.<op>"
//   Ops::forward(x, args...)              f(x)
//   Ops::backward(grad, x, args...)       grad * f'(x)
//   Ops::double_backward(grad, x, args...) grad * f''(x)
// The backward is an op with its own autograd, so double backward works; the
// double-backward op differentiates once more in grad (it is linear in it)
// and stops at x.
#pragma once

#include <ATen/core/grad_mode.h>
#include <ATen/ops/mul.h>
#include <ATen/ops/zeros_like.h>
#include <torch/autograd.h>

#include <functional>
#include <string>
#include <tuple>
#include <utility>

namespace actops::autograd {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// True when a call with these inputs must be recorded for backward.
template <typename... Tensors>
bool records_grad(const Tensors&... tensors) {
  return at::GradMode::is_enabled() && (... || (tensors.defined() && tensors.requires_grad()));
}

// An incoming gradient that autograd left undefined (an output nobody used), as zeros.
inline at::Tensor or_zeros_like(const at::Tensor& t, const at::Tensor& like) {
  return t.defined() ? t : at::zeros_like(like);
}

// The non-tensor arguments of a Function, kept in its context.
template <typename... Args>
void save_args(AutogradContext* ctx, const Args&... args) {
  int i = 0;
  ((ctx->saved_data["arg" + std::to_string(i++)] = args), ...);
}
template <typename... Args, size_t... I>
std::tuple<Args...> load_args_impl(AutogradContext* ctx, std::index_sequence<I...>) {
  return std::tuple<Args...>{ctx->saved_data["arg" + std::to_string(I)].template to<Args>()...};
}
template <typename... Args>
std::tuple<Args...> load_args(AutogradContext* ctx) {
  return load_args_impl<Args...>(ctx, std::index_sequence_for<Args...>{});
}

// The last derivative actops writes by hand: `compute` runs below autograd,
// and its outputs, where a gradient would be recorded, get a node that
// refuses to differentiate once more, naming the op.
struct LastDerivative : torch::autograd::Function<LastDerivative> {
  static variable_list forward(
      AutogradContext* ctx, at::TensorList /*inputs, for autograd*/, const char* op,
      const std::function<variable_list()>& compute) {
    ctx->saved_data["op"] = std::string(op);
    at::AutoDispatchBelowADInplaceOrView guard;
    return compute();
  }
  static variable_list backward(AutogradContext* ctx, variable_list /*grad_out*/) {
    TORCH_CHECK(
        false, ctx->saved_data["op"].toStringRef(), ": derivatives of third order and higher are not implemented");
  }
};

// One gradient per tensor input, then an undefined one per non-tensor argument.
inline variable_list with_arg_slots(variable_list grads, size_t n_args) {
  grads.resize(grads.size() + n_args);
  return grads;
}

template <typename Ops, typename... Args>
struct ActivationDoubleBackward : torch::autograd::Function<ActivationDoubleBackward<Ops, Args...>> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& grad, const at::Tensor& x, Args... args) {
    ctx->save_for_backward({x});
    save_args(ctx, args...);
    at::AutoDispatchBelowADInplaceOrView guard;
    return Ops::double_backward(grad, x, args...);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    TORCH_CHECK(
        !ctx->needs_input_grad(1), Ops::name, ": derivatives of third order and higher are not implemented");
    const at::Tensor x = ctx->get_saved_variables()[0];
    const at::Tensor d_grad = std::apply(
        [&](const Args&... args) { return Ops::double_backward(grad_out[0], x, args...); },
        load_args<Args...>(ctx));
    return with_arg_slots({d_grad, at::Tensor()}, sizeof...(Args));
  }
};

template <typename Ops, typename... Args>
struct ActivationBackward : torch::autograd::Function<ActivationBackward<Ops, Args...>> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& grad, const at::Tensor& x, Args... args) {
    ctx->save_for_backward({grad, x});
    save_args(ctx, args...);
    at::AutoDispatchBelowADInplaceOrView guard;
    return Ops::backward(grad, x, args...);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& grad = saved[0];
    const at::Tensor& x = saved[1];
    const at::Tensor& gg = grad_out[0];
    const auto args = load_args<Args...>(ctx);
    at::Tensor d_grad, d_x;
    if (ctx->needs_input_grad(0)) {
      d_grad = std::apply([&](const Args&... a) { return Ops::backward(gg, x, a...); }, args);
    }
    if (ctx->needs_input_grad(1)) {
      d_x = std::apply([&](const Args&... a) { return Ops::double_backward(at::mul(gg, grad), x, a...); }, args);
    }
    return with_arg_slots({d_grad, d_x}, sizeof...(Args));
  }
};

template <typename Ops, typename... Args>
struct ActivationFunction : torch::autograd::Function<ActivationFunction<Ops, Args...>> {
  // Saves its input only: f is cheap to recompute, so the backward needs
  // nothing else.
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, Args... args) {
    ctx->save_for_backward({x});
    save_args(ctx, args...);
    at::AutoDispatchBelowADInplaceOrView guard;
    return Ops::forward(x, args...);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    const at::Tensor x = ctx->get_saved_variables()[0];
    const at::Tensor d_x = std::apply(
        [&](const Args&... args) { return Ops::backward(grad_out[0], x, args...); }, load_args<Args...>(ctx));
    return with_arg_slots({d_x}, sizeof...(Args));
  }
};

// The Autograd-key kernels. Without grad to record they go straight to the
// device kernel, skipping the cost of building a graph node.
template <typename Ops, typename... Args>
at::Tensor activation_autograd(const at::Tensor& x, Args... args) {
  if (!records_grad(x)) {
    at::AutoDispatchBelowADInplaceOrView guard;
    return Ops::forward(x, args...);
  }
  return ActivationFunction<Ops, Args...>::apply(x, args...);
}

template <typename Ops, typename... Args>
at::Tensor activation_backward_autograd(const at::Tensor& grad, const at::Tensor& x, Args... args) {
  if (!records_grad(grad, x)) {
    at::AutoDispatchBelowADInplaceOrView guard;
    return Ops::backward(grad, x, args...);
  }
  return ActivationBackward<Ops, Args...>::apply(grad, x, args...);
}

template <typename Ops, typename... Args>
at::Tensor activation_double_backward_autograd(const at::Tensor& grad, const at::Tensor& x, Args... args) {
  if (!records_grad(grad, x)) {
    at::AutoDispatchBelowADInplaceOrView guard;
    return Ops::double_backward(grad, x, args...);
  }
  return ActivationDoubleBackward<Ops, Args...>::apply(grad, x, args...);
}

}  // namespace actops::autograd

// Registers the three Autograd kernels of activation `op`, whose Ops struct
// is `ops` and whose schema's scalar arguments have the C++ types `...`.
#define ACTOPS_REGISTER_ACTIVATION_AUTOGRAD(m, op, ...)                                               \
  do {                                                                                                \
    (m).impl(#op, &::actops::autograd::activation_autograd<__VA_ARGS__>);                             \
    (m).impl(#op "_backward", &::actops::autograd::activation_backward_autograd<__VA_ARGS__>);        \
    (m).impl(#op "_double_backward", &::actops::autograd::activation_double_backward_autograd<__VA_ARGS__>); \
  } while (0)
