// Loads the TorchScript model written by scripts/export_torchscript.py (every
// actops.nn layer), runs it forward and backward, and checks the output and
// the input gradient against the ones Python saved beside it.
//
//   run_torchscript model.pt data.pt
#include <actops/actops.h>  // calls nothing: its link anchor keeps libactops linked
#include <torch/script.h>
#include <torch/torch.h>

#include <iostream>

#include "report.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: run_torchscript model.pt data.pt\n";
    return 2;
  }
  torch::jit::Module model = torch::jit::load(argv[1]);
  torch::jit::Module data = torch::jit::load(argv[2]);
  const auto x = data.attr("x").toTensor().clone().requires_grad_(true);
  const auto expected_y = data.attr("y").toTensor();
  const auto expected_grad = data.attr("grad").toTensor();

  const auto y = model.forward({x}).toTensor();
  y.sum().backward();

  const double tolerance = 1e-12;
  const double y_error = (y - expected_y).abs().max().item<double>();
  const double grad_error = (x.grad() - expected_grad).abs().max().item<double>();
  const bool ok = y_error <= tolerance && grad_error <= tolerance;
  report::check("output", y_error, tolerance, y_error <= tolerance);
  report::check("input gradient", grad_error, tolerance, grad_error <= tolerance);
  return ok ? 0 : 1;
}
