// The C++ API on CUDA tensors, against the CPU kernels: forward, the C++
// autograd through backward and double backward, packed layouts, out= and
// in place. Skipped, saying so, where torch sees no CUDA GPU (the kernels
// are built and registered by `make cuda-check`; scripts/gpu_check.sh runs
// the Python suite's CUDA tests on a GPU machine).
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include "actops/actops.h"

namespace {

class Cuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) {
      GTEST_SKIP() << "no CUDA GPU (torch::cuda::is_available() is false): the CUDA kernels run only on a GPU machine";
    }
  }
};

// Each result on CUDA equals the CPU's to a few float32 ulps.
void expect_matches_cpu(const torch::Tensor& cuda, const torch::Tensor& cpu) {
  ASSERT_TRUE(cuda.is_cuda());
  EXPECT_TRUE(torch::allclose(cuda.cpu(), cpu, 1e-6, 1e-7)) << (cuda.cpu() - cpu).abs().max();
}

TEST_F(Cuda, ForwardBackwardAndDoubleBackwardMatchTheCpu) {
  const auto x = torch::randn({64, 40}, torch::kFloat64) * 4;
  for (const auto& op : std::vector<std::function<torch::Tensor(const torch::Tensor&)>>{
           [](const torch::Tensor& t) { return actops::mish(t); },
           [](const torch::Tensor& t) { return actops::gelu(t, "tanh"); },
           [](const torch::Tensor& t) { return actops::swiglu(t, -1, "interleaved", 1.702, 7.0, 1.0); },
           [](const torch::Tensor& t) { return actops::maxout(t, 4, -1); },
       }) {
    std::vector<torch::Tensor> results[2];
    for (int device = 0; device < 2; ++device) {
      auto leaf = (device == 0 ? x : x.cuda()).clone().requires_grad_();
      auto out = op(leaf);
      auto grad = torch::ones_like(out);
      auto first = torch::autograd::grad({out}, {leaf}, {grad}, /*retain_graph=*/true, /*create_graph=*/true)[0];
      // (maxout's first derivative does not depend on x: no second)
      torch::Tensor second = torch::zeros_like(leaf);
      if (first.requires_grad()) {
        second = torch::autograd::grad({first}, {leaf}, {torch::ones_like(first)}, /*retain_graph=*/false,
                                       /*create_graph=*/false, /*allow_unused=*/true)[0];
      }
      results[device] = {out.detach(), first.detach(), second.defined() ? second.detach() : torch::zeros_like(leaf)};
    }
    for (size_t i = 0; i < results[0].size(); ++i) {
      expect_matches_cpu(results[1][i].to(torch::kFloat32), results[0][i].to(torch::kFloat32));
    }
  }
}

TEST_F(Cuda, OutAndInPlace) {
  const auto x = torch::randn({32, 48}, torch::kCUDA);
  auto out = torch::empty_like(x);
  actops::mish_out(out, x);
  EXPECT_TRUE(torch::equal(out, actops::mish(x)));
  auto y = x.clone();
  actops::trelu_(y, 0.5, 0.1);
  EXPECT_TRUE(torch::equal(y, actops::trelu(x, 0.5, 0.1)));
  expect_matches_cpu(actops::swiglu(x, x, 1.0), actops::swiglu(x.cpu(), x.cpu(), 1.0));
}

}  // namespace
