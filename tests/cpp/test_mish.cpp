// mish from C++: values against a double-precision reference, gradients from
// C++ autograd against central finite differences, every dtype, bad input.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "actops/actops.h"
#include "expect_error.h"

namespace {

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
