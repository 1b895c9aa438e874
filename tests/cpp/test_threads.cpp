// The ops called from several std::threads at once, each on its own tensors
// (with autograd), every result checked against a single-threaded run.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <thread>
#include <vector>

#include "actops/actops.h"

namespace {

// Every op, forward and backward, on one input: the value and the input's
// gradient, concatenated.
torch::Tensor run_every_op(const torch::Tensor& input) {
  const auto x = input.detach().clone().requires_grad_(true);
  const auto beta = torch::full({x.size(1)}, 1.3, x.options()).requires_grad_(true);
  std::vector<torch::Tensor> outputs{actops::mish(x),
                                     actops::swish(x),
                                     actops::swish(x, beta),
                                     actops::gelu(x),
                                     actops::gelu(x, "tanh"),
                                     actops::trelu(x, 0.5, 0.1),
                                     actops::swiglu(x, 1),
                                     actops::swiglu(x, x.flip(0)),
                                     actops::maxout(x, 4, 1),
                                     actops::relu2(x),
                                     actops::trelu(x, 0.5, beta),
                                     actops::geglu(x, 1, "interleaved", "tanh"),
                                     actops::reglu(x, x.flip(0), 2.0, 1.0),
                                     actops::swiglu(x, 1, "up_gate", 1.702, 7.0, 1.0)};
  torch::Tensor total = torch::zeros({}, x.options());
  for (const auto& y : outputs) {
    total = total + (y * y).sum();
  }
  const auto grads = torch::autograd::grad({total}, {x, beta});
  std::vector<torch::Tensor> flat;
  for (const auto& y : outputs) {
    flat.push_back(y.detach().flatten());
  }
  flat.push_back(grads[0].flatten());
  flat.push_back(grads[1].flatten());
  return torch::cat(flat);
}

TEST(Threads, ConcurrentCallsGiveTheSingleThreadedResults) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 20;
  torch::manual_seed(0);
  std::vector<torch::Tensor> inputs;
  std::vector<torch::Tensor> expected;
  for (int t = 0; t < kThreads; ++t) {
    inputs.push_back(torch::randn({16 + t, 64}, torch::kFloat64));
    expected.push_back(run_every_op(inputs.back()));
  }
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        if (!torch::equal(run_every_op(inputs[t]), expected[t])) {
          ++mismatches;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
