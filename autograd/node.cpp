#include "autograd/node.h"

#include <ATen/ops/add.h>
#include <ATen/ops/zeros_like.h>

namespace actops::autograd {

at::Tensor or_zeros_like(const at::Tensor& t, const at::Tensor& like) { return t.defined() ? t : at::zeros_like(like); }

at::Tensor add_defined(const at::Tensor& a, const at::Tensor& b) {
  if (!a.defined()) {
    return b;
  }
  if (!b.defined()) {
    return a;
  }
  return at::add(a, b);
}

void refuse_third_order(const char* op, const char* mode) {
  TORCH_CHECK(false, op, ": derivatives of third order and higher are not implemented (", mode, ")");
}

}  // namespace actops::autograd
