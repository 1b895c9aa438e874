// relu2, swish, gelu and trelu from C++: values against double references, C++
// autograd against central differences (for x and for tensor parameters),
// bad input.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "actops/actops.h"
#include "expect_error.h"

namespace {

using Fn = std::function<torch::Tensor(const torch::Tensor&)>;

struct ElementwiseCase {
  std::string name;
  Fn op;
  std::function<double(double)> reference;
};

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

std::vector<ElementwiseCase> cases() {
  const double k = std::sqrt(2.0 / M_PI);
  return {
      {"relu2", [](const torch::Tensor& x) { return actops::relu2(x); }, [](double x) { return x > 0 ? x * x : 0.0; }},
      {"swish", [](const torch::Tensor& x) { return actops::swish(x); }, [](double x) { return x * sigmoid(x); }},
      {"swish_beta", [](const torch::Tensor& x) { return actops::swish(x, 0.7); },
       [](double x) { return x * sigmoid(0.7 * x); }},
      {"gelu", [](const torch::Tensor& x) { return actops::gelu(x); },
       [](double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }},
      {"gelu_tanh", [](const torch::Tensor& x) { return actops::gelu(x, "tanh"); },
       [k](double x) { return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x))); }},
      {"trelu", [](const torch::Tensor& x) { return actops::trelu(x, 0.5, 0.1); },
       [](double x) { return x > 0.5 ? x : 0.1 * x; }},
  };
}

// Sample points in [-8, 8] that avoid trelu's jump at 0.5 and relu2's kink at 0
// (its f'' jumps there, so central differences straddling 0 are off by h / 2).
torch::Tensor points() {
  auto x = torch::linspace(-8, 8, 157, torch::kFloat64);
  x = torch::where(x.abs() < 0.02, x + 0.05, x);
  return torch::where((x - 0.5).abs() < 0.02, x + 0.05, x);
}

TEST(Activations, ValuesMatchDoubleReference) {
  const auto x = points();
  for (const auto& c : cases()) {
    const auto y = c.op(x);
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double xi = x[i].item<double>();
      const double expected = c.reference(xi);
      EXPECT_NEAR(y[i].item<double>(), expected, 1e-13 * std::max(1.0, std::abs(expected)))
          << c.name << " at x = " << xi;
    }
  }
}

TEST(Activations, AutogradMatchesCentralDifferences) {
  const auto x0 = points();
  const double h = 1e-6;
  for (const auto& c : cases()) {
    const auto x = x0.clone().requires_grad_(true);
    c.op(x).sum().backward();
    const auto numeric = (c.op(x0 + h) - c.op(x0 - h)) / (2 * h);
    EXPECT_TRUE(torch::allclose(x.grad(), numeric, 1e-7, 1e-8)) << c.name << ": " << (x.grad() - numeric).abs().max();
  }
}

TEST(Activations, EveryDtypeMatchesFloat64) {
  const auto x = points();
  for (const auto& c : cases()) {
    const auto expected = c.op(x);
    for (auto [dtype, tol] : std::vector<std::pair<torch::Dtype, double>>{
             {torch::kFloat32, 1e-5}, {torch::kBFloat16, 2e-2}, {torch::kFloat16, 2e-3}}) {
      const auto y = c.op(x.to(dtype));
      ASSERT_EQ(y.scalar_type(), dtype) << c.name;
      EXPECT_TRUE(torch::allclose(y.to(torch::kFloat64), expected, tol, tol)) << c.name << " " << dtype;
    }
  }
}

// relu2 against the composite a user would write, in every dtype: the kernel
// squares in float (bfloat16 and float16: once, then rounds), as torch does.
TEST(Activations, Relu2MatchesTorchComposite) {
  torch::manual_seed(0);
  const auto x = torch::randn({1000}, torch::kFloat64) * 5;
  for (auto dtype : {torch::kFloat64, torch::kFloat32, torch::kBFloat16, torch::kHalf}) {
    const auto xd = x.to(dtype);
    const auto y = actops::relu2(xd);
    ASSERT_EQ(y.scalar_type(), dtype);
    const auto expected = torch::relu(xd).square();
    EXPECT_TRUE(torch::allclose(y.to(torch::kFloat64), expected.to(torch::kFloat64), 0, 0))
        << dtype << ": " << (y.to(torch::kFloat64) - expected.to(torch::kFloat64)).abs().max();
  }
}

// f' = 2 relu(x) (continuous), f'' = 2 for x > 0 and 0 elsewhere; third order is refused.
TEST(Activations, Relu2SecondDerivative) {
  const auto x = points().requires_grad_(true);
  const auto g = torch::autograd::grad({actops::relu2(x).sum()}, {x}, {}, true, true)[0];
  EXPECT_TRUE(torch::allclose(g, 2 * torch::relu(x.detach()), 0, 0));
  const auto gg = torch::autograd::grad({g.sum()}, {x}, {}, true, true)[0];
  EXPECT_TRUE(torch::equal(gg, torch::where(x.detach() > 0, 2.0, 0.0).to(torch::kFloat64))) << gg;
  const double h = 1e-5;
  const auto xd = x.detach();
  const auto ones = torch::ones_like(xd);
  const auto numeric =
      (actops::detail::relu2_backward(ones, xd + h) - actops::detail::relu2_backward(ones, xd - h)) / (2 * h);
  EXPECT_TRUE(torch::allclose(gg, numeric, 1e-8, 1e-8)) << (gg - numeric).abs().max();
  expect_error_containing([&] { torch::autograd::grad({gg.sum()}, {x}); }, {"actops.relu2", "third order"});
}

// No NaN from any non-NaN input: relu2 overflows to inf above sqrt(max), as x * x does.
TEST(Activations, Relu2ExtremeInputs) {
  const double inf = std::numeric_limits<double>::infinity();
  for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
    const double big =
        dtype == torch::kFloat32 ? std::numeric_limits<float>::max() : std::numeric_limits<double>::max();
    const auto x = torch::tensor({inf, -inf, big, -big, 1e4, -1e4, 0.0}, dtype);
    const auto y = actops::relu2(x).to(torch::kFloat64);
    const std::vector<double> expected{inf, 0.0, inf, 0.0, 1e8, 0.0, 0.0};
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(y[i].item<double>(), expected[i]) << dtype << " at x = " << x[i].item<double>();
    }
    EXPECT_TRUE(std::isnan(actops::relu2(torch::tensor({std::nan("")}, dtype)).item<double>()));
    const auto g = actops::detail::relu2_backward(torch::ones_like(x), x);
    EXPECT_FALSE(g.isnan().any().item<bool>()) << g;
    const auto gg = actops::detail::relu2_double_backward(torch::ones_like(x), x);
    EXPECT_FALSE(gg.isnan().any().item<bool>()) << gg;
  }
}

// Learnable parameters: the gradient for a per-channel tensor against central
// differences of the sum of outputs, one channel at a time.
void expect_parameter_gradient(const std::string& name,
                               const std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>& op,
                               const torch::Tensor& p0) {
  torch::manual_seed(0);
  auto x = torch::randn({4, 3, 5}, torch::kFloat64) * 3;
  x = torch::where((x - 0.5).abs() < 0.02, x + 0.05, x).requires_grad_(true);
  const auto p = p0.clone().requires_grad_(true);
  op(x, p).sum().backward();
  ASSERT_EQ(p.grad().sizes(), p.sizes()) << name;
  const double h = 1e-6;
  for (int64_t c = 0; c < p.numel(); ++c) {
    auto up = p0.clone();
    auto down = p0.clone();
    up.view(-1)[c] += h;
    down.view(-1)[c] -= h;
    const double numeric = ((op(x.detach(), up).sum() - op(x.detach(), down).sum()) / (2 * h)).item<double>();
    EXPECT_NEAR(p.grad().view(-1)[c].item<double>(), numeric, 1e-6 * std::max(1.0, std::abs(numeric)))
        << name << " channel " << c;
  }
}

TEST(Activations, LearnableParameterGradients) {
  const auto per_channel = torch::tensor({0.8, 1.3, -0.4}, torch::kFloat64).view({3, 1});
  const auto single = torch::tensor(1.1, torch::kFloat64);
  auto swish = [](const torch::Tensor& x, const torch::Tensor& beta) { return actops::swish(x, beta); };
  auto trelu = [](const torch::Tensor& x, const torch::Tensor& alpha) { return actops::trelu(x, 0.5, alpha); };
  expect_parameter_gradient("swish per channel", swish, per_channel);
  expect_parameter_gradient("swish single", swish, single);
  expect_parameter_gradient("trelu per channel", trelu, per_channel * 0.1);
  expect_parameter_gradient("trelu single", trelu, single * 0.1);
}

TEST(Activations, SecondDerivativeOfLearnableSwish) {
  const auto x = torch::linspace(-4, 4, 33, torch::kFloat64).requires_grad_(true);
  const auto beta = torch::tensor(1.2, torch::kFloat64).requires_grad_(true);
  const auto y = actops::swish(x, beta).sum();
  const auto grads = torch::autograd::grad({y}, {x, beta}, {}, true, true);
  const auto second = torch::autograd::grad({grads[1]}, {beta})[0];
  // d2/dbeta2 sum x sigma(beta x) = sum x^3 s (1 - s) (1 - 2 s)
  const auto xd = x.detach();
  const auto s = torch::sigmoid(1.2 * xd);
  const auto expected = (xd.pow(3) * s * (1 - s) * (1 - 2 * s)).sum();
  EXPECT_NEAR(second.item<double>(), expected.item<double>(), 1e-12);
}

TEST(Activations, TreluFixedAlphaSavesAMask) {
  const auto x = torch::tensor({-2.0, 0.4, 0.6, 3.0}).requires_grad_(true);
  auto [out, mask] = actops::trelu_with_mask(x.detach(), 0.5, 0.1);
  EXPECT_EQ(mask.scalar_type(), torch::kBool);
  EXPECT_TRUE(torch::equal(mask, torch::tensor({false, false, true, true})));
  actops::trelu(x, 0.5, 0.1).sum().backward();
  EXPECT_TRUE(torch::allclose(x.grad(), torch::tensor({0.1f, 0.1f, 1.0f, 1.0f})));
}

TEST(Activations, BadInputIsAClearError) {
  const auto x = torch::randn({2, 3});
  expect_error_containing([&] { actops::gelu(x, "fast"); }, {"actops.gelu", "approximate", "fast"});
  expect_error_containing([] { actops::swish(torch::arange(3)); }, {"actops.swish", "int64"});
  expect_error_containing([] { actops::relu2(torch::arange(3)); }, {"actops.relu2", "int64"});
  expect_error_containing(
      [&] {
        actops::detail::relu2_backward(torch::ones({3, 2}), x);
      },
      {"actops.relu2_backward", "shape"});
  expect_error_containing([&] { actops::swish(x, torch::ones({4})); },
                          {"actops.swish_learnable", "beta", "[4]", "broadcast"});
  expect_error_containing([&] { actops::trelu(x, 1.0, torch::ones({1}, torch::kInt32)); },
                          {"actops.trelu_learnable", "alpha", "int32"});
  expect_error_containing([] { actops::trelu(torch::ones({2}, torch::kBool)); }, {"actops.trelu", "bool"});
}

}  // namespace
