#include <torch/library.h>

#include "actops/actops.h"
#include "autograd/activation.h"

namespace actops::autograd {
namespace {

struct MishOps {
  static constexpr const char* name = "actops.mish";
  static at::Tensor forward(const at::Tensor& x) { return actops::mish(x); }
  static at::Tensor backward(const at::Tensor& grad, const at::Tensor& x) {
    return actops::mish_backward(grad, x);
  }
  static at::Tensor double_backward(const at::Tensor& grad, const at::Tensor& x) {
    return actops::mish_double_backward(grad, x);
  }
};

}  // namespace

TORCH_LIBRARY_IMPL(actops, Autograd, m) {
  ACTOPS_REGISTER_ACTIVATION_AUTOGRAD(m, mish, MishOps);
}

}  // namespace actops::autograd
