// swiglu and maxout from C++: values against the composites, gradients from
// C++ autograd against central differences and the composites, the tie rule
// and errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "actops/actops.h"
#include "expect_error.h"

namespace {

TEST(Swiglu, SplitAndPackedMatchComposite) {
  torch::manual_seed(0);
  const auto gate = torch::randn({4, 6}, torch::kFloat64).requires_grad_(true);
  const auto up = torch::randn({6}, torch::kFloat64).requires_grad_(true);
  const auto y = actops::swiglu(gate, up);
  const auto expected = torch::silu(gate) * up;
  EXPECT_TRUE(torch::allclose(y, expected, 1e-13, 1e-13));
  const auto grads = torch::autograd::grad({y.sum()}, {gate, up});
  const auto expected_grads = torch::autograd::grad({expected.sum()}, {gate, up});
  EXPECT_EQ(grads[1].sizes(), up.sizes());
  EXPECT_TRUE(torch::allclose(grads[0], expected_grads[0], 1e-12, 1e-12));
  EXPECT_TRUE(torch::allclose(grads[1], expected_grads[1], 1e-12, 1e-12));

  const auto x = torch::randn({3, 10}, torch::kFloat64).requires_grad_(true);
  const auto packed = actops::swiglu(x, -1);
  const auto halves = x.chunk(2, -1);
  const auto expected_packed = torch::silu(halves[0]) * halves[1];
  EXPECT_TRUE(torch::allclose(packed, expected_packed, 1e-13, 1e-13));
  const auto dx = torch::autograd::grad({packed.sum()}, {x})[0];
  const auto expected_dx = torch::autograd::grad({expected_packed.sum()}, {x})[0];
  EXPECT_TRUE(torch::allclose(dx, expected_dx, 1e-12, 1e-12));
}

TEST(Swiglu, SecondDerivativeMatchesCentralDifferences) {
  const auto gate = torch::linspace(-5, 5, 41, torch::kFloat64).requires_grad_(true);
  const auto up = torch::full({41}, 0.7, torch::kFloat64);
  const auto g = torch::autograd::grad({actops::swiglu(gate, up).sum()}, {gate}, {}, true, true)[0];
  const auto gg = torch::autograd::grad({g.sum()}, {gate})[0];
  const double h = 1e-5;
  auto first = [&](const torch::Tensor& at) {
    return std::get<0>(actops::detail::swiglu_backward(torch::ones_like(at), at, up));
  };
  const auto numeric = (first(gate.detach() + h) - first(gate.detach() - h)) / (2 * h);
  EXPECT_TRUE(torch::allclose(gg, numeric, 1e-6, 1e-8)) << (gg - numeric).abs().max();
}

TEST(Maxout, MatchesAmaxAndSendsGradientToFirstMaximum) {
  const auto x = torch::tensor({{1.0, 3.0, 3.0, 2.0, 5.0, 5.0, 5.0, 5.0}}).requires_grad_(true);
  const auto y = actops::maxout(x, 4, 1);
  EXPECT_TRUE(torch::equal(y, x.detach().unflatten(1, {2, 4}).amax(2)));
  const auto dx = torch::autograd::grad({y}, {x}, {torch::tensor({{10.0f, 20.0f}})})[0];
  EXPECT_TRUE(torch::equal(dx, torch::tensor({{0.0f, 10.0f, 0.0f, 0.0f, 20.0f, 0.0f, 0.0f, 0.0f}})));
  const auto indices = std::get<1>(actops::maxout_with_indices(x.detach(), 4, 1));
  EXPECT_EQ(indices.scalar_type(), torch::kByte);
}

TEST(Maxout, EveryDimAndDtype) {
  torch::manual_seed(0);
  const auto x64 = torch::randn({3, 12, 4}, torch::kFloat64);
  for (auto dtype : {torch::kFloat32, torch::kFloat64, torch::kBFloat16, torch::kFloat16}) {
    const auto x = x64.to(dtype);
    for (int64_t dim : {0, 1, 2, -1}) {
      const int64_t d = dim < 0 ? dim + 3 : dim;
      const int64_t pieces = x.size(d) % 4 == 0 ? 4 : 3;
      const auto expected = x.unflatten(d, {x.size(d) / pieces, pieces}).amax(d + 1);
      EXPECT_TRUE(torch::equal(actops::maxout(x, pieces, dim), expected)) << dtype << " dim " << dim;
    }
  }
}

TEST(SwigluMaxout, ErrorsNameTheNumbers) {
  expect_error_containing(
      [] {
        actops::swiglu(torch::randn({3, 7}), -1);
      },
      {"actops.swiglu_packed", "(7) must be even"});
  expect_error_containing(
      [] {
        actops::maxout(torch::randn({2, 10}), 3);
      },
      {"actops.maxout", "pieces (3) must divide the size of dim 1 (10)"});
  expect_error_containing(
      [] {
        actops::maxout(torch::randn({2, 10}), 0);
      },
      {"actops.maxout", "pieces must be at least 1"});
}

}  // namespace
