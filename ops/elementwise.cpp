#include "ops/elementwise.h"

#include <ATen/ExpandUtils.h>
#include <ATen/TensorIterator.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/full.h>

namespace actops {

namespace {

const char* dtype_name(at::ScalarType dtype) {
  return c10::getDtypeNames(dtype).first.data();
}

at::Tensor like(const at::Tensor& x) {
  return at::empty_like(x, at::MemoryFormat::Preserve);
}

}  // namespace

void check_floating(const at::Tensor& t, const char* op, const char* arg) {
  TORCH_CHECK(t.defined(), op, ": ", arg, " is an undefined tensor");
  const auto dtype = t.scalar_type();
  TORCH_CHECK_TYPE(
      dtype == at::kFloat || dtype == at::kDouble || dtype == at::kBFloat16 || dtype == at::kHalf,
      op, ": ", arg,
      " must be a floating-point tensor (float32, float64, bfloat16 or float16), got dtype ",
      dtype_name(dtype));
}

void check_like(
    const at::Tensor& other, const at::Tensor& x, const char* op, const char* arg, bool exact_shape) {
  check_floating(other, op, arg);
  TORCH_CHECK_TYPE(
      other.scalar_type() == x.scalar_type(), op, ": ", arg, " has dtype ", dtype_name(other.scalar_type()),
      " but x has dtype ", dtype_name(x.scalar_type()));
  TORCH_CHECK(
      other.device() == x.device(), op, ": ", arg, " is on ", other.device(), " but x is on ", x.device());
  if (exact_shape) {
    TORCH_CHECK(
        other.sym_sizes() == x.sym_sizes(), op, ": ", arg, " has shape ", other.sym_sizes(),
        " but x has shape ", x.sym_sizes());
  } else {
    TORCH_CHECK(
        at::is_expandable_to(other.sym_sizes(), x.sym_sizes()), op, ": ", arg, " of shape ",
        other.sym_sizes(), " does not broadcast to x of shape ", x.sym_sizes());
  }
}

at::Tensor activation_cpu(const at::Tensor& x, const Stub& stub, const Params& params, const char* op) {
  check_floating(x, op, "x");
  at::Tensor out = like(x);
  auto iter = at::TensorIteratorConfig().add_output(out).add_const_input(x).build();
  stub(iter, Pass::Value, params);
  return out;
}

at::Tensor activation_meta(const at::Tensor& x, const char* op) {
  check_floating(x, op, "x");
  return like(x);
}

at::Tensor activation_gradient_cpu(
    const at::Tensor& grad, const at::Tensor& x, const Stub& stub, Pass pass, const Params& params, const char* op) {
  check_floating(x, op, "x");
  check_like(grad, x, op, "grad", /*exact_shape=*/true);
  at::Tensor out = like(x);
  auto iter = at::TensorIteratorConfig().add_output(out).add_const_input(grad).add_const_input(x).build();
  stub(iter, pass, params);
  return out;
}

at::Tensor activation_gradient_meta(const at::Tensor& grad, const at::Tensor& x, const char* op) {
  check_floating(x, op, "x");
  check_like(grad, x, op, "grad", /*exact_shape=*/true);
  return like(x);
}

at::Tensor parametric_cpu(const at::Tensor& x, const at::Tensor& p, const Stub& stub, const Params& params) {
  at::Tensor out = like(x);
  auto iter = at::TensorIteratorConfig().add_output(out).add_const_input(x).add_const_input(p).build();
  stub(iter, Pass::Value, params);
  return out;
}

at::Tensor parametric_meta(const at::Tensor& x) {
  return like(x);
}

std::vector<at::Tensor> gradients_cpu(
    at::TensorList inputs, const at::Tensor& like_this, at::TensorList shapes_of, const Stub& stub, Pass pass,
    Params params) {
  // A single-valued parameter (the last entry) gets its gradient summed in the
  // kernel, with no full-size temporary.
  const at::Tensor& parameter = shapes_of.back();
  const bool sum_in_kernel = parameter.numel() == 1 && like_this.numel() > 1;
  const size_t n_stored = shapes_of.size() - (sum_in_kernel ? 1 : 0);
  std::vector<at::Tensor> outputs;
  at::TensorIteratorConfig config;
  for (size_t k = 0; k < n_stored; ++k) {
    outputs.push_back(like(like_this));
    config.add_output(outputs.back());
  }
  for (const auto& input : inputs) {
    config.add_const_input(input);
  }
  auto iter = config.build();
  double total = 0.0;
  if (sum_in_kernel) {
    params.parameter_gradient = &total;
  }
  stub(iter, pass, params);
  for (size_t k = 0; k < n_stored; ++k) {
    outputs[k] = outputs[k].sum_to_size_symint(shapes_of[k].sym_sizes());
  }
  if (sum_in_kernel) {
    outputs.push_back(at::full(parameter.sizes(), total, parameter.options()));
  }
  return outputs;
}

std::vector<at::Tensor> gradients_meta(const at::Tensor& like_this, at::TensorList shapes_of) {
  std::vector<at::Tensor> outputs;
  for (const auto& target : shapes_of) {
    outputs.push_back(like(like_this).sum_to_size_symint(target.sym_sizes()));
  }
  return outputs;
}

}  // namespace actops
