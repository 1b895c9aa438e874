// Trains a small MLP written in C++ with actops functions on two interleaved
// spirals generated here, printing the loss as it falls.
//
//   train_mlp [steps]
#include <actops/actops.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdlib>

#include "report.h"

namespace {

// Two interleaved spirals: n points per class, labels 0 and 1.
std::pair<torch::Tensor, torch::Tensor> spirals(int64_t n) {
  const auto t = torch::linspace(0.25, 3.0 * M_PI, n);
  const auto r = t / (3.0 * M_PI);
  auto a = torch::stack({r * torch::cos(t), r * torch::sin(t)}, 1);
  auto x = torch::cat({a, -a}) + 0.02 * torch::randn({2 * n, 2});
  auto y = torch::cat({torch::zeros({n}, torch::kLong), torch::ones({n}, torch::kLong)});
  return {x, y};
}

struct Mlp : torch::nn::Module {
  torch::nn::Linear input{nullptr}, hidden{nullptr}, gated{nullptr}, pieces{nullptr}, output{nullptr};
  torch::Tensor beta;

  Mlp() {
    input = register_module("input", torch::nn::Linear(2, 64));
    hidden = register_module("hidden", torch::nn::Linear(64, 64));
    gated = register_module("gated", torch::nn::Linear(64, 2 * 64));  // [gate | up]
    pieces = register_module("pieces", torch::nn::Linear(64, 32 * 4));
    output = register_module("output", torch::nn::Linear(32, 2));
    beta = register_parameter("beta", torch::ones({64}));  // a learnable swish beta per unit
  }

  torch::Tensor forward(torch::Tensor x) {
    x = actops::mish(input(x));
    x = actops::swish(hidden(x), beta);
    x = actops::swiglu(gated(x), -1);
    x = actops::gelu(x, "tanh");
    x = actops::maxout(pieces(x), 4, -1);
    return output(x);
  }
};

}  // namespace

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 300;
  torch::manual_seed(0);
  auto [x, y] = spirals(256);
  Mlp model;
  torch::optim::Adam optimizer(model.parameters(), torch::optim::AdamOptions(1e-2));
  report::line("training a C++ MLP (mish, learnable swish, swiglu, gelu, maxout) on two spirals");
  double first_loss = 0.0;
  double loss_value = 0.0;
  double accuracy = 0.0;
  for (int step = 1; step <= steps; ++step) {
    optimizer.zero_grad();
    const auto logits = model.forward(x);
    const auto loss = torch::nn::functional::cross_entropy(logits, y);
    loss.backward();
    optimizer.step();
    loss_value = loss.item<double>();
    accuracy = (logits.argmax(1) == y).to(torch::kDouble).mean().item<double>();
    if (step == 1) {
      first_loss = loss_value;
    }
    if (step == 1 || step % 50 == 0) {
      report::step(step, steps, loss_value, accuracy);
    }
  }
  const bool learned = loss_value < 0.5 * first_loss;
  report::line(learned ? "the loss fell: ok" : "the loss did not fall enough");
  return learned ? 0 : 1;
}
