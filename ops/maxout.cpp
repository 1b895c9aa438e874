// maxout: the schemas and the device (CPU, CUDA) and Meta kernels. The
// forward keeps, per group, the index of its first maximum in the smallest
// integer type that holds `pieces` (uint8 up to 256), not the input. CPU
// loops: ops/cpu/maxout_kernel.cpp; CUDA: ops/cuda/maxout_kernel.cu;
// autograd: autograd/maxout.cpp.
#include <ATen/native/Resize.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <limits>

#include "ops/kernel_stubs.h"
#include "ops/op_support.h"
#include "ops/out_forms.h"
#include "ops/registration.h"

namespace actops {
namespace {

at::ScalarType maxout_index_dtype(int64_t pieces) {
  if (pieces <= 256) {
    return at::kByte;
  }
  if (pieces <= 32768) {
    return at::kShort;
  }
  if (pieces <= std::numeric_limits<int32_t>::max()) {
    return at::kInt;
  }
  return at::kLong;
}

constexpr const char* kMaxout = "actops.maxout";
constexpr const char* kWithIndices = "actops.maxout_with_indices";
constexpr const char* kBackward = "actops.maxout_backward";

using Pair = std::tuple<at::Tensor, at::Tensor>;

int64_t checked_dim(int64_t dim, int64_t ndim, const char* op, const char* arg = "x") {
  TORCH_CHECK(ndim > 0, op, ": ", arg, " must have at least one dimension");
  TORCH_CHECK(dim >= -ndim && dim < ndim, op, ": dim ", dim, " is out of range for ", arg, " with ", ndim,
              " dimensions");
  return dim < 0 ? dim + ndim : dim;
}

// x's shape with dim divided by pieces: the output's (and the indices').
c10::SymDimVector maxout_output_shape(const at::Tensor& x, int64_t pieces, int64_t dim, const char* op) {
  check_floating(x, op, "x");
  TORCH_CHECK(pieces >= 1, op, ": pieces must be at least 1, got ", pieces);
  const int64_t d = checked_dim(dim, x.dim(), op);
  const c10::SymInt size = x.sym_size(d);
  TORCH_CHECK(size % pieces == 0, op, ": pieces (", pieces, ") must divide the size of dim ", dim, " (", size, ")");
  c10::SymDimVector shape(x.sym_sizes().begin(), x.sym_sizes().end());
  shape[d] = size / pieces;
  return shape;
}

MaxoutShape geometry(at::IntArrayRef out_sizes, int64_t pieces, int64_t dim) {
  MaxoutShape s{1, out_sizes[dim], pieces, 1};
  for (int64_t i = 0; i < dim; ++i) {
    s.outer *= out_sizes[i];
  }
  for (size_t i = dim + 1; i < out_sizes.size(); ++i) {
    s.inner *= out_sizes[i];
  }
  return s;
}

Pair maxout_with_indices_kernel(const at::Tensor& x, int64_t pieces, int64_t dim) {
  const auto shape = maxout_output_shape(x, pieces, dim, kWithIndices);
  const auto sizes = c10::asIntArrayRefUnchecked(shape);
  at::Tensor out = at::empty(sizes, x.options());
  at::Tensor indices = at::empty(sizes, x.options().dtype(maxout_index_dtype(pieces)));
  if (out.numel() > 0) {
    const at::Tensor input = x.contiguous();
    launch(maxout_forward_stub, kMaxout, x.device(), input, out, indices,
           geometry(sizes, pieces, checked_dim(dim, x.dim(), kWithIndices)));
  }
  return {out, indices};
}
Pair maxout_with_indices_meta(const at::Tensor& x, int64_t pieces, int64_t dim) {
  const auto shape = maxout_output_shape(x, pieces, dim, kWithIndices);
  return {at::empty_symint(shape, x.options()), at::empty_symint(shape, x.options().dtype(maxout_index_dtype(pieces)))};
}

// Without a gradient to record, no indices are kept.
at::Tensor maxout_kernel(const at::Tensor& x, int64_t pieces, int64_t dim) {
  const auto shape = maxout_output_shape(x, pieces, dim, kMaxout);
  const auto sizes = c10::asIntArrayRefUnchecked(shape);
  at::Tensor out = at::empty(sizes, x.options());
  if (out.numel() > 0) {
    at::Tensor no_indices;
    launch(maxout_forward_stub, kMaxout, x.device(), x.contiguous(), out, no_indices,
           geometry(sizes, pieces, checked_dim(dim, x.dim(), kMaxout)));
  }
  return out;
}
at::Tensor maxout_meta(const at::Tensor& x, int64_t pieces, int64_t dim) {
  return at::empty_symint(maxout_output_shape(x, pieces, dim, kMaxout), x.options());
}

// out= (resized to the output's shape as at::native::resize_output does): the
// kernel writes contiguous rows, so an out with other strides gets the
// result through a copy.
at::Tensor& maxout_out_kernel(const at::Tensor& x, int64_t pieces, int64_t dim, at::Tensor& out) {
  const auto shape = maxout_output_shape(x, pieces, dim, kMaxout);
  check_out(out, x.scalar_type(), x, kMaxout);
  check_out_overlap(out, x, "x", kMaxout);
  const auto sizes = c10::asIntArrayRefUnchecked(shape);
  at::native::resize_output(out, sizes);
  if (out.numel() > 0) {
    at::Tensor no_indices;
    at::Tensor target = out.is_contiguous() ? out : at::empty(sizes, x.options());
    launch(maxout_forward_stub, kMaxout, x.device(), x.contiguous(), target, no_indices,
           geometry(sizes, pieces, checked_dim(dim, x.dim(), kMaxout)));
    if (!target.is_same(out)) {
      out.copy_(target);
    }
  }
  return out;
}
at::Tensor& maxout_out_meta(const at::Tensor& x, int64_t pieces, int64_t dim, at::Tensor& out) {
  const auto shape = maxout_output_shape(x, pieces, dim, kMaxout);
  check_out(out, x.scalar_type(), x, kMaxout);
  at::native::resize_output_symint(out, shape);
  return out;
}

// grad_x's shape: grad's with dim multiplied by pieces.
c10::SymDimVector maxout_input_shape(const at::Tensor& grad, const at::Tensor& indices, int64_t pieces, int64_t dim,
                                     const char* op) {
  check_floating(grad, op, "grad");
  TORCH_CHECK(pieces >= 1, op, ": pieces must be at least 1, got ", pieces);
  const int64_t d = checked_dim(dim, grad.dim(), op, "grad");
  TORCH_CHECK_TYPE(indices.scalar_type() == maxout_index_dtype(pieces), op, ": indices for ", pieces,
                   " pieces must have dtype ", c10::getDtypeNames(maxout_index_dtype(pieces)).first, ", got ",
                   c10::getDtypeNames(indices.scalar_type()).first);
  TORCH_CHECK(indices.sym_sizes() == grad.sym_sizes(), op, ": indices have shape ", indices.sym_sizes(),
              " but grad has shape ", grad.sym_sizes());
  check_same_device(indices, grad, op, "indices", "grad");
  c10::SymDimVector shape(grad.sym_sizes().begin(), grad.sym_sizes().end());
  if (const auto size = shape[d].maybe_as_int(); size.has_value() && *size > 0) {
    TORCH_CHECK(*size <= std::numeric_limits<int64_t>::max() / pieces, op, ": the size of dim ", dim, " of grad (",
                *size, ") times pieces (", pieces, ") overflows int64");
  }
  shape[d] = shape[d] * pieces;
  return shape;
}

at::Tensor maxout_backward_kernel(const at::Tensor& grad, const at::Tensor& indices, int64_t pieces, int64_t dim) {
  const auto shape = maxout_input_shape(grad, indices, pieces, dim, kBackward);
  at::Tensor grad_x = at::empty(c10::asIntArrayRefUnchecked(shape), grad.options());
  if (grad_x.numel() > 0) {
    const at::Tensor g = grad.contiguous();
    const at::Tensor idx = indices.contiguous();
    launch(maxout_backward_stub, kBackward, grad.device(), g, idx, grad_x,
           geometry(g.sizes(), pieces, checked_dim(dim, grad.dim(), kBackward, "grad")));
  }
  return grad_x;
}
at::Tensor maxout_backward_meta(const at::Tensor& grad, const at::Tensor& indices, int64_t pieces, int64_t dim) {
  return at::empty_symint(maxout_input_shape(grad, indices, pieces, dim, kBackward), grad.options());
}

}  // namespace

void define_maxout_ops(torch::Library& m) {
  m.def("maxout(Tensor x, int pieces, int dim=1) -> Tensor", op_tags());
  m.def("maxout_with_indices(Tensor x, int pieces, int dim=1) -> (Tensor out, Tensor indices)", op_tags());
  m.def("maxout_backward(Tensor grad, Tensor indices, int pieces, int dim) -> Tensor", op_tags());
  register_device_kernel(m, "maxout", &maxout_kernel);
  register_device_kernel(m, "maxout_with_indices", &maxout_with_indices_kernel);
  register_device_kernel(m, "maxout_backward", &maxout_backward_kernel);
  register_kernel(m, "maxout", c10::DispatchKey::Meta, &maxout_meta);
  register_kernel(m, "maxout_with_indices", c10::DispatchKey::Meta, &maxout_with_indices_meta);
  register_kernel(m, "maxout_backward", c10::DispatchKey::Meta, &maxout_backward_meta);
  m.def("maxout.out(Tensor x, int pieces, int dim=1, *, Tensor(a!) out) -> Tensor(a!)", out_tags());
  register_device_kernel(m, "maxout.out", &maxout_out_kernel);
  register_kernel(m, "maxout.out", c10::DispatchKey::Meta, &maxout_out_meta);
  register_out_autograd(m, "maxout.out");
}

}  // namespace actops
