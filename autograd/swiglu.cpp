// Autograd of swiglu, split and packed. Both save only their inputs (gate and
// up, or the packed x); the backward ops have their own autograd, with the
// double backward written by hand (ops/math/swiglu.h).
#include <ATen/ops/cat.h>
#include <ATen/ops/zeros_like.h>
#include <torch/library.h>

#include "actops/actops.h"
#include "autograd/activation.h"
#include "ops/elementwise.h"

namespace actops::autograd {
namespace {

constexpr const char* kSwiglu = "actops.swiglu";

struct SwigluBackwardFunction : torch::autograd::Function<SwigluBackwardFunction> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& grad, const at::Tensor& gate, const at::Tensor& up) {
    ctx->save_for_backward({grad, gate, up});
    at::AutoDispatchBelowADInplaceOrView guard;
    auto [d_gate, d_up] = actops::swiglu_backward(grad, gate, up);
    return {d_gate, d_up};
  }
  static variable_list backward(AutogradContext* ctx, variable_list gg) {
    const auto saved = ctx->get_saved_variables();
    auto [d_grad, d_gate, d_up] = actops::swiglu_double_backward(
        or_zeros_like(gg[0], saved[1]), or_zeros_like(gg[1], saved[2]), saved[0], saved[1], saved[2]);
    return {d_grad, d_gate, d_up};
  }
};

struct SwigluFunction : torch::autograd::Function<SwigluFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& gate, const at::Tensor& up) {
    ctx->save_for_backward({gate, up});
    at::AutoDispatchBelowADInplaceOrView guard;
    return actops::swiglu(gate, up);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    const auto saved = ctx->get_saved_variables();
    auto [d_gate, d_up] = actops::swiglu_backward(grad_out[0], saved[0], saved[1]);
    return {d_gate, d_up};
  }
};

struct SwigluPackedBackwardFunction : torch::autograd::Function<SwigluPackedBackwardFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& grad, const at::Tensor& x, int64_t dim) {
    ctx->save_for_backward({grad, x});
    ctx->saved_data["dim"] = dim;
    at::AutoDispatchBelowADInplaceOrView guard;
    return actops::swiglu_packed_backward(grad, x, dim);
  }
  // The split double backward on the halves, stitched back along dim.
  static variable_list backward(AutogradContext* ctx, variable_list gg) {
    const auto saved = ctx->get_saved_variables();
    const int64_t dim = ctx->saved_data["dim"].toInt();
    auto [gate, up] = swiglu_halves(saved[1], dim, "actops.swiglu_packed_backward");
    auto [gg_gate, gg_up] = swiglu_halves(or_zeros_like(gg[0], saved[1]), dim, "actops.swiglu_packed_backward");
    auto [d_grad, d_gate, d_up] = actops::swiglu_double_backward(gg_gate, gg_up, saved[0], gate, up);
    return {d_grad, at::cat({d_gate, d_up}, dim), at::Tensor()};
  }
};

struct SwigluPackedFunction : torch::autograd::Function<SwigluPackedFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, int64_t dim) {
    ctx->save_for_backward({x});
    ctx->saved_data["dim"] = dim;
    at::AutoDispatchBelowADInplaceOrView guard;
    return actops::swiglu(x, dim);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    const at::Tensor x = ctx->get_saved_variables()[0];
    return {actops::swiglu_packed_backward(grad_out[0], x, ctx->saved_data["dim"].toInt()), at::Tensor()};
  }
};

at::Tensor swiglu_autograd(const at::Tensor& gate, const at::Tensor& up) {
  if (!records_grad(gate, up)) {
    at::AutoDispatchBelowADInplaceOrView guard;
    return actops::swiglu(gate, up);
  }
  return SwigluFunction::apply(gate, up);
}

std::tuple<at::Tensor, at::Tensor> swiglu_backward_autograd(
    const at::Tensor& grad, const at::Tensor& gate, const at::Tensor& up) {
  if (!records_grad(grad, gate, up)) {
    at::AutoDispatchBelowADInplaceOrView guard;
    return actops::swiglu_backward(grad, gate, up);
  }
  auto out = SwigluBackwardFunction::apply(grad, gate, up);
  return {out[0], out[1]};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> swiglu_double_backward_autograd(
    const at::Tensor& gg_gate, const at::Tensor& gg_up, const at::Tensor& grad, const at::Tensor& gate,
    const at::Tensor& up) {
  auto compute = [&]() -> variable_list {
    auto [a, b, c] = actops::swiglu_double_backward(gg_gate, gg_up, grad, gate, up);
    return {a, b, c};
  };
  if (!records_grad(gg_gate, gg_up, grad, gate, up)) {
    at::AutoDispatchBelowADInplaceOrView guard;
    auto out = compute();
    return {out[0], out[1], out[2]};
  }
  auto out = LastDerivative::apply(at::TensorList{gg_gate, gg_up, grad, gate, up}, kSwiglu, compute);
  return {out[0], out[1], out[2]};
}

at::Tensor swiglu_packed_autograd(const at::Tensor& x, int64_t dim) {
  if (!records_grad(x)) {
    at::AutoDispatchBelowADInplaceOrView guard;
    return actops::swiglu(x, dim);
  }
  return SwigluPackedFunction::apply(x, dim);
}

at::Tensor swiglu_packed_backward_autograd(const at::Tensor& grad, const at::Tensor& x, int64_t dim) {
  if (!records_grad(grad, x)) {
    at::AutoDispatchBelowADInplaceOrView guard;
    return actops::swiglu_packed_backward(grad, x, dim);
  }
  return SwigluPackedBackwardFunction::apply(grad, x, dim);
}

}  // namespace

TORCH_LIBRARY_IMPL(actops, Autograd, m) {
  m.impl("swiglu", &swiglu_autograd);
  m.impl("swiglu_backward", &swiglu_backward_autograd);
  m.impl("swiglu_double_backward", &swiglu_double_backward_autograd);
  m.impl("swiglu_packed", &swiglu_packed_autograd);
  m.impl("swiglu_packed_backward", &swiglu_packed_backward_autograd);
}

}  // namespace actops::autograd
