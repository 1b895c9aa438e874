// Autograd of maxout. The forward keeps only the index of each group's first
// maximum; the backward sends each group's gradient there. The backward is
// linear in grad given the indices, so its own derivative gathers the
// incoming gradient at those indices (differentiable ATen ops).
#include <ATen/ops/gather.h>
#include <torch/library.h>

#include "actops/actops.h"
#include "autograd/activation.h"

namespace actops::autograd {
namespace {

// The values of t (x-shaped) at each group's index: (grad-shaped).
at::Tensor gather_at_indices(const at::Tensor& t, const at::Tensor& indices, int64_t pieces, int64_t dim) {
  const int64_t d = dim < 0 ? dim + t.dim() : dim;
  return t.unflatten(d, {t.size(d) / pieces, pieces})
      .gather(d + 1, indices.to(at::kLong).unsqueeze(d + 1))
      .squeeze(d + 1);
}

void save_shape(AutogradContext* ctx, int64_t pieces, int64_t dim) {
  ctx->saved_data["pieces"] = pieces;
  ctx->saved_data["dim"] = dim;
}

struct MaxoutBackwardFunction : torch::autograd::Function<MaxoutBackwardFunction> {
  static at::Tensor forward(
      AutogradContext* ctx, const at::Tensor& grad, const at::Tensor& indices, int64_t pieces, int64_t dim) {
    ctx->save_for_backward({indices});
    save_shape(ctx, pieces, dim);
    at::AutoDispatchBelowADInplaceOrView guard;
    return actops::maxout_backward(grad, indices, pieces, dim);
  }
  static variable_list backward(AutogradContext* ctx, variable_list gg) {
    const at::Tensor indices = ctx->get_saved_variables()[0];
    const auto d_grad =
        gather_at_indices(gg[0], indices, ctx->saved_data["pieces"].toInt(), ctx->saved_data["dim"].toInt());
    return {d_grad, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

struct MaxoutFunction : torch::autograd::Function<MaxoutFunction> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& x, int64_t pieces, int64_t dim) {
    at::AutoDispatchBelowADInplaceOrView guard;
    auto [out, indices] = actops::maxout_with_indices(x, pieces, dim);
    ctx->mark_non_differentiable({indices});
    ctx->save_for_backward({indices});
    save_shape(ctx, pieces, dim);
    return {out, indices};
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    const at::Tensor indices = ctx->get_saved_variables()[0];
    return {
        actops::maxout_backward(grad_out[0], indices, ctx->saved_data["pieces"].toInt(), ctx->saved_data["dim"].toInt()),
        at::Tensor(), at::Tensor()};
  }
};

at::Tensor maxout_autograd(const at::Tensor& x, int64_t pieces, int64_t dim) {
  if (!records_grad(x)) {
    at::AutoDispatchBelowADInplaceOrView guard;
    return actops::maxout(x, pieces, dim);
  }
  return MaxoutFunction::apply(x, pieces, dim)[0];
}

std::tuple<at::Tensor, at::Tensor> maxout_with_indices_autograd(const at::Tensor& x, int64_t pieces, int64_t dim) {
  if (!records_grad(x)) {
    at::AutoDispatchBelowADInplaceOrView guard;
    return actops::maxout_with_indices(x, pieces, dim);
  }
  auto out = MaxoutFunction::apply(x, pieces, dim);
  return {out[0], out[1]};
}

at::Tensor maxout_backward_autograd(const at::Tensor& grad, const at::Tensor& indices, int64_t pieces, int64_t dim) {
  if (!records_grad(grad)) {
    at::AutoDispatchBelowADInplaceOrView guard;
    return actops::maxout_backward(grad, indices, pieces, dim);
  }
  return MaxoutBackwardFunction::apply(grad, indices, pieces, dim);
}

}  // namespace

TORCH_LIBRARY_IMPL(actops, Autograd, m) {
  m.impl("maxout", &maxout_autograd);
  m.impl("maxout_with_indices", &maxout_with_indices_autograd);
  m.impl("maxout_backward", &maxout_backward_autograd);
}

}  // namespace actops::autograd
