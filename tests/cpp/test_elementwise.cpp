// The element-wise ops from C++ (mish, relu2, swish, gelu, trelu): values
// against double references, C++ autograd against central differences (for x
// and for tensor parameters), every dtype, out=, bad input; and that
// actops.h leaks none of the op table's helper macros.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "actops/actops.h"
#include "expect_error.h"

// actops.h expands the op table with helper macros and undoes them: a user's
// translation unit sees only the table and the API.
#if defined(ACTOPS_PARAMS_DECL) || defined(ACTOPS_PARAMS_SCHEMA) || defined(ACTOPS_PARAMS_END) || \
    defined(ACTOPS_PARAMS_CPP_Float) || defined(ACTOPS_OP_CALL) || defined(ACTOPS_DECLARE_UNARY)
#error "actops.h leaks a helper macro"
#endif

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
  auto snake = [](const torch::Tensor& x, const torch::Tensor& alpha) { return actops::snake(x, alpha); };
  expect_parameter_gradient("snake per channel", snake, per_channel);
  expect_parameter_gradient("snake single", snake, single);
}

// Snake, x + sin^2(a x) / a: values against long double, exact for a small
// frequency (where 1 - cos 2ax would cancel) and at a = 0 (the limit x), and
// its second derivatives in (x, a) against their closed forms.
TEST(Activations, SnakeValuesSmallFrequencyAndLimit) {
  const auto x = torch::linspace(-6, 6, 61, torch::kFloat64);
  for (double a : {1.0, 0.37, -0.8, 1e-3, 1e-9, 1e-200}) {
    const auto y = actops::snake(x, torch::tensor(a, torch::kFloat64));
    for (int64_t i = 0; i < x.numel(); ++i) {
      const long double xi = x[i].item<double>();
      const long double s = std::sin(static_cast<long double>(a) * xi);
      const double expected = static_cast<double>(xi + s * s / a);
      EXPECT_NEAR(y[i].item<double>(), expected, 4e-16 * std::max(1.0, std::abs(expected))) << "a=" << a << " x=" << xi;
    }
  }
  // a tiny frequency in float32: a x^2 survives next to x, no underflow of s^2
  const auto xf = torch::tensor({3.0f, -2.0f, 1e-3f}, torch::kFloat32);
  const auto yf = actops::snake(xf, torch::tensor(1e-30f));
  EXPECT_TRUE(torch::equal(yf, xf));
  // a x^2 = 9e-10 next to x = 3 (1 - cos 2ax rounds to 0 in double here)
  const auto small = actops::snake(torch::tensor({3.0}, torch::kFloat64), torch::tensor({1e-10}, torch::kFloat64));
  EXPECT_NEAR(small.item<double>() - 3.0, 9e-10, 1e-15);
  // a = 0: x, its derivatives 1 (in x) and x^2 (in a), finite everywhere
  const auto xa = torch::linspace(-3, 3, 7, torch::kFloat64).requires_grad_(true);
  const auto zero = torch::zeros({1}, torch::kFloat64).requires_grad_(true);
  const auto y0 = actops::snake(xa, zero);
  EXPECT_TRUE(torch::equal(y0, xa.detach()));
  const auto g = torch::autograd::grad({y0.sum()}, {xa, zero}, {}, true, true);
  EXPECT_TRUE(torch::equal(g[0], torch::ones_like(xa)));
  EXPECT_NEAR(g[1].item<double>(), xa.detach().pow(2).sum().item<double>(), 1e-12);
  const auto gaa = torch::autograd::grad({g[1].sum()}, {zero})[0];
  EXPECT_EQ(gaa.item<double>(), 0.0);
}

TEST(Activations, SnakeSecondDerivatives) {
  const auto x = torch::linspace(-4, 4, 41, torch::kFloat64).requires_grad_(true);
  for (double a : {0.9, 0.05, -1.7}) {
    const auto alpha = torch::tensor(a, torch::kFloat64).requires_grad_(true);
    const auto g = torch::autograd::grad({actops::snake(x, alpha).sum()}, {x, alpha}, {}, true, true);
    const auto xd = x.detach();
    const auto cos2 = torch::cos(2 * a * xd);
    // f_xx = 2 a cos 2ax (one x at a time: the sum is separable), f_xa = 2 x cos 2ax
    const auto gxx = torch::autograd::grad({g[0].sum()}, {x, alpha}, {}, true);
    EXPECT_TRUE(torch::allclose(gxx[0], 2 * a * cos2, 1e-12, 1e-12)) << a;
    EXPECT_NEAR(gxx[1].item<double>(), (2 * xd * cos2).sum().item<double>(), 1e-11) << a;
    // f_aa = d/da (x sin 2ax / a - sin^2(ax) / a^2)
    //      = 2 x^2 cos 2ax / a - 2 x sin 2ax / a^2 + 2 sin^2(ax) / a^3
    const auto s = torch::sin(a * xd);
    const auto faa = 2 * xd.pow(2) * cos2 / a - 2 * xd * torch::sin(2 * a * xd) / (a * a) + 2 * s * s / (a * a * a);
    const auto gaa = torch::autograd::grad({g[1]}, {alpha})[0];
    EXPECT_NEAR(gaa.item<double>(), faa.sum().item<double>(), 1e-9 * std::max(1.0, std::abs(faa.sum().item<double>())))
        << a;
  }
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

// ---- mish ----

// Independent reference: the textbook formula in long double.
double mish_reference(double x) {
  const long double lx = x;
  const long double sp = lx > 0 ? lx + std::log1p(std::exp(-lx)) : std::log1p(std::exp(lx));
  return static_cast<double>(lx * std::tanh(sp));
}

std::vector<double> sample_points() {
  std::vector<double> xs;
  for (double x = -30.0; x <= 30.0; x += 0.37) {
    xs.push_back(x);
  }
  for (double x : {-88.0, -20.0, -5.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 5.0, 20.0, 88.0, 1e4}) {
    xs.push_back(x);
  }
  return xs;
}

TEST(Mish, MatchesDoubleReference) {
  const auto xs = sample_points();
  const auto x = torch::tensor(xs, torch::kFloat64);
  const auto y = actops::mish(x);
  for (size_t i = 0; i < xs.size(); ++i) {
    const double expected = mish_reference(xs[i]);
    EXPECT_NEAR(y[i].item<double>(), expected, 1e-14 * std::max(1.0, std::abs(expected))) << "x = " << xs[i];
  }
}

TEST(Mish, NegativeTailKeepsRelativeAccuracy) {
  const auto x = torch::tensor({-30.0, -50.0}, torch::kFloat64);
  const auto y = actops::mish(x);
  for (int i = 0; i < 2; ++i) {
    const double expected = mish_reference(x[i].item<double>());
    EXPECT_NE(y[i].item<double>(), 0.0);
    EXPECT_NEAR(y[i].item<double>() / expected, 1.0, 1e-13);
  }
  const float y32 = actops::mish(torch::tensor({-30.0f})).item<float>();
  EXPECT_NEAR(y32 / mish_reference(-30.0), 1.0, 1e-6);
}

TEST(Mish, ExtremeInputs) {
  for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
    const double inf = std::numeric_limits<double>::infinity();
    const double big =
        dtype == torch::kFloat32 ? std::numeric_limits<float>::max() : std::numeric_limits<double>::max();
    const auto x = torch::tensor({inf, -inf, big, -big, 1e4, -1e4}, dtype);
    const auto y = actops::mish(x).to(torch::kFloat64);
    EXPECT_EQ(y[0].item<double>(), inf);
    EXPECT_EQ(y[1].item<double>(), 0.0);
    EXPECT_EQ(y[2].item<double>(), big);
    EXPECT_EQ(y[3].item<double>(), 0.0);
    EXPECT_EQ(y[4].item<double>(), 1e4);
    EXPECT_EQ(y[5].item<double>(), 0.0);
    const auto nan = actops::mish(torch::tensor({std::nan("")}, dtype));
    EXPECT_TRUE(std::isnan(nan.item<double>()));
    const auto g = actops::detail::mish_backward(torch::ones_like(x), x);
    EXPECT_FALSE(g.isnan().any().item<bool>()) << g;
  }
}

TEST(Mish, AutogradMatchesCentralDifferences) {
  const auto x = torch::linspace(-8, 8, 161, torch::kFloat64).requires_grad_(true);
  const auto y = actops::mish(x);
  y.sum().backward();
  const double h = 1e-6;
  const auto xd = x.detach();
  const auto numeric = (actops::mish(xd + h) - actops::mish(xd - h)) / (2 * h);
  EXPECT_TRUE(torch::allclose(x.grad(), numeric, 1e-8, 1e-9)) << (x.grad() - numeric).abs().max();
}

TEST(Mish, SecondDerivativeMatchesCentralDifferences) {
  const auto x = torch::linspace(-8, 8, 161, torch::kFloat64).requires_grad_(true);
  const auto y = actops::mish(x);
  const auto g = torch::autograd::grad({y.sum()}, {x}, {}, true, true)[0];
  const auto gg = torch::autograd::grad({g.sum()}, {x})[0];
  const double h = 1e-5;
  const auto xd = x.detach();
  const auto ones = torch::ones_like(xd);
  const auto numeric =
      (actops::detail::mish_backward(ones, xd + h) - actops::detail::mish_backward(ones, xd - h)) / (2 * h);
  EXPECT_TRUE(torch::allclose(gg, numeric, 1e-6, 1e-8)) << (gg - numeric).abs().max();
}

TEST(Mish, EveryFloatingDtype) {
  const auto x64 = torch::linspace(-10, 10, 1001, torch::kFloat64);
  const auto expected = actops::mish(x64);
  const std::vector<std::pair<torch::Dtype, double>> cases{
      {torch::kFloat32, 1e-6}, {torch::kBFloat16, 8e-3}, {torch::kFloat16, 1e-3}};
  for (const auto& [dtype, rtol] : cases) {
    const auto y = actops::mish(x64.to(dtype));
    EXPECT_EQ(y.scalar_type(), dtype);
    // The exact result rounded once to dtype is within half an ulp of it;
    // allow one ulp (rtol) plus the rounding of the input.
    const auto reference = actops::mish(x64.to(dtype).to(torch::kFloat64));
    EXPECT_TRUE(torch::allclose(y.to(torch::kFloat64), reference, rtol, 1e-6))
        << "dtype " << dtype << ": " << (y.to(torch::kFloat64) - reference).abs().max();
  }
  EXPECT_TRUE(torch::allclose(expected.to(torch::kFloat32), actops::mish(x64.to(torch::kFloat32)), 1e-6, 1e-7));
}

TEST(Mish, LayoutsAndEmpty) {
  torch::manual_seed(0);
  const auto x = torch::randn({2, 3, 4, 5}, torch::kFloat32);
  const auto cl = x.contiguous(torch::MemoryFormat::ChannelsLast);
  const auto y = actops::mish(cl);
  EXPECT_TRUE(y.is_contiguous(torch::MemoryFormat::ChannelsLast));
  // Strided inner loops and vector tails take the scalar path: the same
  // formula, exp rounded by libm instead of SLEEF, so allow an ulp.
  EXPECT_TRUE(torch::allclose(y, actops::mish(x), 3e-7, 1e-30));
  const auto strided = x.transpose(1, 3);
  EXPECT_TRUE(torch::allclose(actops::mish(strided), actops::mish(strided.contiguous()), 3e-7, 1e-30));
  EXPECT_EQ(actops::mish(torch::empty({0, 3})).sizes(), torch::IntArrayRef({0, 3}));
  EXPECT_EQ(actops::mish(torch::tensor(1.0)).dim(), 0);
}

TEST(Mish, RejectsNonFloatingDtypes) {
  expect_error_containing([] { actops::mish(torch::arange(4)); }, {"actops.mish", "int64"});
  expect_error_containing([] { actops::mish(torch::ones({2}, torch::kBool)); }, {"actops.mish", "bool"});
  expect_error_containing([] { actops::mish(torch::ones({2}, torch::kComplexFloat)); }, {"actops.mish", "complex64"});
}

TEST(Mish, BackwardRejectsMismatchedGrad) {
  const auto x = torch::randn({3, 4});
  expect_error_containing(
      [&] {
        actops::detail::mish_backward(torch::ones({4, 3}), x);
      },
      {"actops.mish_backward", "shape"});
  expect_error_containing(
      [&] {
        actops::detail::mish_backward(torch::ones({3, 4}, torch::kFloat64), x);
      },
      {"actops.mish_backward", "float64", "float32"});
}

TEST(Mish, NoGradInputsRecordNoGraph) {
  const auto y = actops::mish(torch::randn({8}));
  EXPECT_FALSE(y.requires_grad());
  EXPECT_FALSE(y.grad_fn());
}

}  // namespace

// out= and in place from C++: ATen's order (out first), the result equal to
// the functional op's, out resized, dtype mismatch an error naming the op.
TEST(MishOut, WritesResizesAndRefusesAnotherDtype) {
  const at::Tensor x = at::randn({5, 7});
  at::Tensor out = at::empty({0});
  at::Tensor& result = actops::mish_out(out, x);
  EXPECT_TRUE(result.is_same(out));
  EXPECT_EQ(out.sizes(), x.sizes());
  EXPECT_TRUE(at::equal(out, actops::mish(x)));
  at::Tensor wrong = at::empty({5, 7}, at::kDouble);
  try {
    actops::mish_out(wrong, x);
    FAIL() << "expected a dtype error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("actops.mish: out has dtype float64"), std::string::npos) << e.what();
  }
  at::Tensor y = x.clone();
  EXPECT_TRUE(actops::mish_(y).is_same(y));
  EXPECT_TRUE(at::equal(y, actops::mish(x)));
  at::Tensor s = at::empty({5, 7});
  EXPECT_TRUE(at::equal(actops::swish_out(s, x, 1.5), actops::swish(x, 1.5)));
}
