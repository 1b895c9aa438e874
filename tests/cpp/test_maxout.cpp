// maxout from C++: values against amax over the groups, gradients to the
// first maximum (the tie rule), every dim and dtype, errors naming the numbers.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "actops/actops.h"
#include "expect_error.h"

namespace {

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

TEST(Maxout, ErrorsNameTheNumbers) {
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
