// Autograd of trelu. Fixed alpha: the forward keeps the 1-byte mask
// x > threshold, not x; the backward is linear in grad given the mask, so it
// is its own derivative in grad (and 0 in x). Tensor alpha: saves x and
// alpha; the double backward is written with differentiable ATen ops, since
// the backward is bilinear in (grad, alpha).
#include <ATen/TensorOperators.h>
#include <ATen/ops/gt.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros_like.h>
#include <torch/library.h>

#include "actops/actops.h"
#include "autograd/activation.h"

namespace actops::autograd {
namespace {

struct TreluBackwardFunction : torch::autograd::Function<TreluBackwardFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& grad, const at::Tensor& mask, double alpha) {
    ctx->save_for_backward({mask});
    ctx->saved_data["alpha"] = alpha;
    at::AutoDispatchBelowADInplaceOrView guard;
    return actops::trelu_backward(grad, mask, alpha);
  }
  static variable_list backward(AutogradContext* ctx, variable_list gg) {
    const at::Tensor mask = ctx->get_saved_variables()[0];
    return {actops::trelu_backward(gg[0], mask, ctx->saved_data["alpha"].toDouble()), at::Tensor(), at::Tensor()};
  }
};

struct TreluWithMaskFunction : torch::autograd::Function<TreluWithMaskFunction> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& x, double threshold, double alpha) {
    at::AutoDispatchBelowADInplaceOrView guard;
    auto [out, mask] = actops::trelu_with_mask(x, threshold, alpha);
    ctx->mark_non_differentiable({mask});
    ctx->save_for_backward({mask});
    ctx->saved_data["alpha"] = alpha;
    return {out, mask};
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    const at::Tensor mask = ctx->get_saved_variables()[0];
    return {actops::trelu_backward(grad_out[0], mask, ctx->saved_data["alpha"].toDouble()), at::Tensor(), at::Tensor()};
  }
};

at::Tensor trelu_autograd(const at::Tensor& x, double threshold, double alpha) {
  if (!records_grad(x)) {
    at::AutoDispatchBelowADInplaceOrView guard;
    return actops::trelu(x, threshold, alpha);
  }
  return TreluWithMaskFunction::apply(x, threshold, alpha)[0];
}

std::tuple<at::Tensor, at::Tensor> trelu_with_mask_autograd(const at::Tensor& x, double threshold, double alpha) {
  if (!records_grad(x)) {
    at::AutoDispatchBelowADInplaceOrView guard;
    return actops::trelu_with_mask(x, threshold, alpha);
  }
  auto out = TreluWithMaskFunction::apply(x, threshold, alpha);
  return {out[0], out[1]};
}

at::Tensor trelu_backward_autograd(const at::Tensor& grad, const at::Tensor& mask, double alpha) {
  if (!records_grad(grad)) {
    at::AutoDispatchBelowADInplaceOrView guard;
    return actops::trelu_backward(grad, mask, alpha);
  }
  return TreluBackwardFunction::apply(grad, mask, alpha);
}

struct TreluLearnableBackward : torch::autograd::Function<TreluLearnableBackward> {
  static variable_list forward(
      AutogradContext* ctx, const at::Tensor& grad, const at::Tensor& x, const at::Tensor& alpha, double threshold) {
    ctx->save_for_backward({grad, x, alpha});
    ctx->saved_data["threshold"] = threshold;
    at::AutoDispatchBelowADInplaceOrView guard;
    auto [d_x, d_alpha] = actops::trelu_learnable_backward(grad, x, alpha, threshold);
    return {d_x, d_alpha};
  }
  // (d_x, d_alpha) = (grad * where(m, 1, alpha), sum_to(grad * where(m, 0, x)))
  static variable_list backward(AutogradContext* ctx, variable_list gg) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& grad = saved[0];
    const at::Tensor& x = saved[1];
    const at::Tensor& alpha = saved[2];
    const at::Tensor gg_x = or_zeros_like(gg[0], x);
    const at::Tensor gg_alpha = or_zeros_like(gg[1], alpha);
    const at::Tensor above = at::gt(x, ctx->saved_data["threshold"].toDouble());
    const at::Tensor zero = at::zeros_like(x);
    at::Tensor d_grad, d_x, d_alpha;
    if (ctx->needs_input_grad(0)) {
      d_grad = at::where(above, gg_x, gg_x * alpha + x * gg_alpha);
    }
    if (ctx->needs_input_grad(1)) {
      d_x = at::where(above, zero, grad * gg_alpha);
    }
    if (ctx->needs_input_grad(2)) {
      d_alpha = at::where(above, zero, grad * gg_x).sum_to_size(alpha.sizes());
    }
    return {d_grad, d_x, d_alpha, at::Tensor()};
  }
};

struct TreluLearnableFunction : torch::autograd::Function<TreluLearnableFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& alpha, double threshold) {
    ctx->save_for_backward({x, alpha});
    ctx->saved_data["threshold"] = threshold;
    at::AutoDispatchBelowADInplaceOrView guard;
    return actops::trelu(x, alpha, threshold);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    const auto saved = ctx->get_saved_variables();
    auto [d_x, d_alpha] =
        actops::trelu_learnable_backward(grad_out[0], saved[0], saved[1], ctx->saved_data["threshold"].toDouble());
    return {d_x, d_alpha, at::Tensor()};
  }
};

at::Tensor trelu_learnable_autograd(const at::Tensor& x, const at::Tensor& alpha, double threshold) {
  if (!records_grad(x, alpha)) {
    at::AutoDispatchBelowADInplaceOrView guard;
    return actops::trelu(x, alpha, threshold);
  }
  return TreluLearnableFunction::apply(x, alpha, threshold);
}

std::tuple<at::Tensor, at::Tensor> trelu_learnable_backward_autograd(
    const at::Tensor& grad, const at::Tensor& x, const at::Tensor& alpha, double threshold) {
  if (!records_grad(grad, x, alpha)) {
    at::AutoDispatchBelowADInplaceOrView guard;
    return actops::trelu_learnable_backward(grad, x, alpha, threshold);
  }
  auto out = TreluLearnableBackward::apply(grad, x, alpha, threshold);
  return {out[0], out[1]};
}

}  // namespace

TORCH_LIBRARY_IMPL(actops, Autograd, m) {
  m.impl("trelu", &trelu_autograd);
  m.impl("trelu_with_mask", &trelu_with_mask_autograd);
  m.impl("trelu_backward", &trelu_backward_autograd);
  m.impl("trelu_learnable", &trelu_learnable_autograd);
  m.impl("trelu_learnable_backward", &trelu_learnable_backward_autograd);
}

}  // namespace actops::autograd
