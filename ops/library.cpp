// The one TORCH_LIBRARY(actops) of the process: every schema lives here.
// Kernels are registered per dispatch key next to their code (ops/<op>.cpp
// for CPU and Meta, autograd/<op>.cpp for Autograd).
#include <torch/library.h>

#include <string>

#include "actops/actops.h"

TORCH_LIBRARY(actops, m) {
  const std::vector<at::Tag> tags{at::Tag::pt2_compliant_tag};
  m.def("mish(Tensor x) -> Tensor", tags);
  m.def("mish_backward(Tensor grad, Tensor x) -> Tensor", tags);
  m.def("mish_double_backward(Tensor grad, Tensor x) -> Tensor", tags);

  m.def("cpu_capability() -> str", [] { return std::string(actops::cpu_capability()); });
}
