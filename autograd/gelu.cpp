#include <torch/library.h>

#include "actops/actops.h"
#include "autograd/activation.h"

namespace actops::autograd {
namespace {

struct GeluOps {
  static constexpr const char* name = "actops.gelu";
  static at::Tensor forward(const at::Tensor& x, const std::string& approximate) {
    return actops::gelu(x, approximate);
  }
  static at::Tensor backward(const at::Tensor& grad, const at::Tensor& x, const std::string& approximate) {
    return actops::gelu_backward(grad, x, approximate);
  }
  static at::Tensor double_backward(const at::Tensor& grad, const at::Tensor& x, const std::string& approximate) {
    return actops::gelu_double_backward(grad, x, approximate);
  }
};

// The schema's `str` arrives as a view; the autograd context keeps a copy.
at::Tensor gelu_autograd(const at::Tensor& x, c10::string_view approximate) {
  return activation_autograd<GeluOps, std::string>(x, std::string(approximate));
}
at::Tensor gelu_backward_autograd(const at::Tensor& grad, const at::Tensor& x, c10::string_view approximate) {
  return activation_backward_autograd<GeluOps, std::string>(grad, x, std::string(approximate));
}
at::Tensor gelu_double_backward_autograd(const at::Tensor& grad, const at::Tensor& x, c10::string_view approximate) {
  return activation_double_backward_autograd<GeluOps, std::string>(grad, x, std::string(approximate));
}

}  // namespace

TORCH_LIBRARY_IMPL(actops, Autograd, m) {
  m.impl("gelu", &gelu_autograd);
  m.impl("gelu_backward", &gelu_backward_autograd);
  m.impl("gelu_double_backward", &gelu_double_backward_autograd);
}

}  // namespace actops::autograd
