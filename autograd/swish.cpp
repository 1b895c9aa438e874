// Autograd of swish: fixed beta through the shared activation template,
// tensor beta through the Functions below (gradients for x and beta, and a
// hand-written double backward).
#include <ATen/ops/zeros_like.h>
#include <torch/library.h>

#include "actops/actops.h"
#include "autograd/activation.h"

namespace actops::autograd {
namespace {

constexpr const char* kSwish = "actops.swish";

struct SwishOps {
  static constexpr const char* name = kSwish;
  static at::Tensor forward(const at::Tensor& x, double beta) { return actops::swish(x, beta); }
  static at::Tensor backward(const at::Tensor& grad, const at::Tensor& x, double beta) {
    return actops::swish_backward(grad, x, beta);
  }
  static at::Tensor double_backward(const at::Tensor& grad, const at::Tensor& x, double beta) {
    return actops::swish_double_backward(grad, x, beta);
  }
};

struct SwishLearnableBackward : torch::autograd::Function<SwishLearnableBackward> {
  static variable_list forward(
      AutogradContext* ctx, const at::Tensor& grad, const at::Tensor& x, const at::Tensor& beta) {
    ctx->save_for_backward({grad, x, beta});
    at::AutoDispatchBelowADInplaceOrView guard;
    auto [d_x, d_beta] = actops::swish_learnable_backward(grad, x, beta);
    return {d_x, d_beta};
  }
  static variable_list backward(AutogradContext* ctx, variable_list gg) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& grad = saved[0];
    const at::Tensor& x = saved[1];
    const at::Tensor& beta = saved[2];
    auto [d_grad, d_x, d_beta] = actops::swish_learnable_double_backward(
        or_zeros_like(gg[0], x), or_zeros_like(gg[1], beta), grad, x, beta);
    return {d_grad, d_x, d_beta};
  }
};

struct SwishLearnableFunction : torch::autograd::Function<SwishLearnableFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& beta) {
    ctx->save_for_backward({x, beta});
    at::AutoDispatchBelowADInplaceOrView guard;
    return actops::swish(x, beta);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    const auto saved = ctx->get_saved_variables();
    auto [d_x, d_beta] = actops::swish_learnable_backward(grad_out[0], saved[0], saved[1]);
    return {d_x, d_beta};
  }
};

at::Tensor swish_learnable_autograd(const at::Tensor& x, const at::Tensor& beta) {
  if (!records_grad(x, beta)) {
    at::AutoDispatchBelowADInplaceOrView guard;
    return actops::swish(x, beta);
  }
  return SwishLearnableFunction::apply(x, beta);
}

std::tuple<at::Tensor, at::Tensor> swish_learnable_backward_autograd(
    const at::Tensor& grad, const at::Tensor& x, const at::Tensor& beta) {
  if (!records_grad(grad, x, beta)) {
    at::AutoDispatchBelowADInplaceOrView guard;
    return actops::swish_learnable_backward(grad, x, beta);
  }
  auto out = SwishLearnableBackward::apply(grad, x, beta);
  return {out[0], out[1]};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> swish_learnable_double_backward_autograd(
    const at::Tensor& gg_x, const at::Tensor& gg_beta, const at::Tensor& grad, const at::Tensor& x,
    const at::Tensor& beta) {
  if (!records_grad(gg_x, gg_beta, grad, x, beta)) {
    at::AutoDispatchBelowADInplaceOrView guard;
    return actops::swish_learnable_double_backward(gg_x, gg_beta, grad, x, beta);
  }
  auto out = LastDerivative::apply(at::TensorList{gg_x, gg_beta, grad, x, beta}, kSwish, [&]() -> variable_list {
    auto [a, b, c] = actops::swish_learnable_double_backward(gg_x, gg_beta, grad, x, beta);
    return {a, b, c};
  });
  return {out[0], out[1], out[2]};
}

}  // namespace

TORCH_LIBRARY_IMPL(actops, Autograd, m) {
  ACTOPS_REGISTER_ACTIVATION_AUTOGRAD(m, swish, SwishOps, double);
  m.impl("swish_learnable", &swish_learnable_autograd);
  m.impl("swish_learnable_backward", &swish_learnable_backward_autograd);
  m.impl("swish_learnable_double_backward", &swish_learnable_double_backward_autograd);
}

}  // namespace actops::autograd
