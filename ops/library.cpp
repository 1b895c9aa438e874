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

  m.def("gelu(Tensor x, str approximate=\"none\") -> Tensor", tags);
  m.def("gelu_backward(Tensor grad, Tensor x, str approximate=\"none\") -> Tensor", tags);
  m.def("gelu_double_backward(Tensor grad, Tensor x, str approximate=\"none\") -> Tensor", tags);

  m.def("swish(Tensor x, float beta=1.0) -> Tensor", tags);
  m.def("swish_backward(Tensor grad, Tensor x, float beta=1.0) -> Tensor", tags);
  m.def("swish_double_backward(Tensor grad, Tensor x, float beta=1.0) -> Tensor", tags);
  m.def("swish_learnable(Tensor x, Tensor beta) -> Tensor", tags);
  m.def("swish_learnable_backward(Tensor grad, Tensor x, Tensor beta) -> (Tensor grad_x, Tensor grad_beta)", tags);
  m.def(
      "swish_learnable_double_backward(Tensor gg_x, Tensor gg_beta, Tensor grad, Tensor x, Tensor beta)"
      " -> (Tensor grad_grad, Tensor grad_x, Tensor grad_beta)",
      tags);

  m.def("trelu(Tensor x, float threshold=1.0, float alpha=0.0) -> Tensor", tags);
  m.def("trelu_with_mask(Tensor x, float threshold=1.0, float alpha=0.0) -> (Tensor out, Tensor mask)", tags);
  m.def("trelu_backward(Tensor grad, Tensor mask, float alpha=0.0) -> Tensor", tags);
  m.def("trelu_learnable(Tensor x, Tensor alpha, float threshold=1.0) -> Tensor", tags);
  m.def(
      "trelu_learnable_backward(Tensor grad, Tensor x, Tensor alpha, float threshold=1.0)"
      " -> (Tensor grad_x, Tensor grad_alpha)",
      tags);

  m.def("swiglu(Tensor gate, Tensor up) -> Tensor", tags);
  m.def("swiglu_backward(Tensor grad, Tensor gate, Tensor up) -> (Tensor grad_gate, Tensor grad_up)", tags);
  m.def(
      "swiglu_double_backward(Tensor gg_gate, Tensor gg_up, Tensor grad, Tensor gate, Tensor up)"
      " -> (Tensor grad_grad, Tensor grad_gate, Tensor grad_up)",
      tags);
  m.def("swiglu_packed(Tensor x, int dim=-1) -> Tensor", tags);
  m.def("swiglu_packed_backward(Tensor grad, Tensor x, int dim=-1) -> Tensor", tags);

  m.def("maxout(Tensor x, int pieces, int dim=1) -> Tensor", tags);
  m.def("maxout_with_indices(Tensor x, int pieces, int dim=1) -> (Tensor out, Tensor indices)", tags);
  m.def("maxout_backward(Tensor grad, Tensor indices, int pieces, int dim=1) -> Tensor", tags);

  m.def("cpu_capability() -> str", [] { return std::string(actops::cpu_capability()); });
}
