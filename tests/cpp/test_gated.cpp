// The gated family from C++: swiglu, geglu and reglu, split and packed in
// every layout, against composites built from torch:: ops (GPT-OSS's clamped
// SwiGLU for swiglu); gradients from torch::autograd::grad against the
// composites'; the double backward; the backward ops of actops::detail; the
// low precisions; errors naming the op.
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

using torch::Tensor;
using Limit = c10::optional<double>;

// One unit: the actops calls (split and packed, the gate's own parameter
// fixed) and the composite's gate.
struct Unit {
  std::string name;
  std::function<Tensor(const Tensor&, const Tensor&, Limit, double)> split;
  std::function<Tensor(const Tensor&, int64_t, const std::string&, Limit, double)> packed;
  std::function<Tensor(const Tensor&)> gate;
};

constexpr double kBeta = 1.702;  // GPT-OSS's alpha

std::vector<Unit> units() {
  return {
      {"swiglu",
       [](const Tensor& g, const Tensor& u, Limit limit, double offset) {
         return actops::swiglu(g, u, kBeta, limit, offset);
       },
       [](const Tensor& x, int64_t dim, const std::string& layout, Limit limit, double offset) {
         return actops::swiglu(x, dim, layout, kBeta, limit, offset);
       },
       [](const Tensor& g) { return g * torch::sigmoid(g * kBeta); }},
      {"geglu",
       [](const Tensor& g, const Tensor& u, Limit limit, double offset) {
         return actops::geglu(g, u, "none", limit, offset);
       },
       [](const Tensor& x, int64_t dim, const std::string& layout, Limit limit, double offset) {
         return actops::geglu(x, dim, layout, "none", limit, offset);
       },
       [](const Tensor& g) { return torch::gelu(g); }},
      {"geglu_tanh",
       [](const Tensor& g, const Tensor& u, Limit limit, double offset) {
         return actops::geglu(g, u, "tanh", limit, offset);
       },
       [](const Tensor& x, int64_t dim, const std::string& layout, Limit limit, double offset) {
         return actops::geglu(x, dim, layout, "tanh", limit, offset);
       },
       [](const Tensor& g) { return torch::gelu(g, "tanh"); }},
      {"reglu",
       [](const Tensor& g, const Tensor& u, Limit limit, double offset) { return actops::reglu(g, u, limit, offset); },
       [](const Tensor& x, int64_t dim, const std::string& layout, Limit limit, double offset) {
         return actops::reglu(x, dim, layout, limit, offset);
       },
       [](const Tensor& g) { return torch::relu(g); }},
  };
}

struct Options {
  Limit limit;
  double up_offset;
};
const std::vector<Options> kOptions = {{c10::nullopt, 0.0}, {c10::nullopt, 0.5}, {7.0, 1.0}, {2.0, -0.5}};

std::string describe(const Unit& unit, const Options& o) {
  return unit.name + " limit " + (o.limit ? std::to_string(*o.limit) : std::string("none")) + " up_offset " +
         std::to_string(o.up_offset);
}

Tensor composite(const Unit& unit, Tensor gate, Tensor up, const Options& o) {
  if (o.limit) {
    gate = gate.clamp_max(*o.limit);
    up = up.clamp(-*o.limit, *o.limit);
  }
  return unit.gate(gate) * (up + o.up_offset);
}

// (gate, up) of a packed x, as slicing views.
std::pair<Tensor, Tensor> parts(const Tensor& x, int64_t dim, const std::string& layout) {
  const int64_t half = x.size(dim) / 2;
  if (layout == "interleaved") {
    return {x.slice(dim, 0, c10::nullopt, 2), x.slice(dim, 1, c10::nullopt, 2)};
  }
  const Tensor first = x.narrow(dim, 0, half);
  const Tensor second = x.narrow(dim, half, half);
  return layout == "gate_up" ? std::make_pair(first, second) : std::make_pair(second, first);
}

Tensor wide(torch::IntArrayRef shape, double scale = 6.0) {
  return (torch::randn(shape, torch::kFloat64) * scale).requires_grad_(true);
}

// Values within `gap` of a kink moved away from it (for finite differences).
Tensor away_from(Tensor x, const std::vector<double>& points, double gap = 0.05) {
  for (double p : points) {
    const auto near = (x - p).abs() < gap;
    x = torch::where(near, torch::where(x >= p, x + 2 * gap, x - 2 * gap), x);
  }
  return x;
}

::testing::AssertionResult close(const Tensor& a, const Tensor& b, double tol = 1e-12) {
  if (a.sizes() != b.sizes()) {
    return ::testing::AssertionFailure() << "shape " << a.sizes() << " vs " << b.sizes();
  }
  if (a.numel() == 0 || torch::allclose(a, b, tol, tol)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "max difference " << (a - b).abs().max().item<double>();
}

TEST(Gated, SplitMatchesCompositeWithGradients) {
  torch::manual_seed(0);
  for (const auto& unit : units()) {
    for (const auto& o : kOptions) {
      const auto gate = wide({4, 1, 37});
      const auto up = wide({3, 37});
      const auto y = unit.split(gate, up, o.limit, o.up_offset);
      const auto expected = composite(unit, gate, up, o);
      EXPECT_EQ(y.sizes(), torch::IntArrayRef({4, 3, 37})) << describe(unit, o);
      EXPECT_TRUE(close(y, expected)) << describe(unit, o);
      const auto grad = torch::randn_like(y);
      const auto g = torch::autograd::grad({y}, {gate, up}, {grad});
      const auto e = torch::autograd::grad({expected}, {gate, up}, {grad});
      EXPECT_EQ(g[0].sizes(), gate.sizes());
      EXPECT_EQ(g[1].sizes(), up.sizes());
      EXPECT_TRUE(close(g[0], e[0])) << describe(unit, o) << " grad gate";
      EXPECT_TRUE(close(g[1], e[1])) << describe(unit, o) << " grad up";
      // the backward op of actops::detail gives the same
      if (unit.name == "swiglu") {
        const auto d = actops::detail::swiglu_backward(grad, gate.detach(), up.detach(), kBeta, o.limit, o.up_offset);
        EXPECT_TRUE(close(std::get<0>(d), e[0]) && close(std::get<1>(d), e[1])) << describe(unit, o);
      } else if (unit.name == "reglu") {
        const auto d = actops::detail::reglu_backward(grad, gate.detach(), up.detach(), o.limit, o.up_offset);
        EXPECT_TRUE(close(std::get<0>(d), e[0]) && close(std::get<1>(d), e[1])) << describe(unit, o);
      } else if (unit.name == "geglu_tanh") {
        const auto d = actops::detail::geglu_backward(grad, gate.detach(), up.detach(), "tanh", o.limit, o.up_offset);
        EXPECT_TRUE(close(std::get<0>(d), e[0]) && close(std::get<1>(d), e[1])) << describe(unit, o);
      }
    }
  }
}

TEST(Gated, PackedEveryLayoutAndDimMatchesComposite) {
  torch::manual_seed(1);
  for (const auto& unit : units()) {
    for (const auto& o : kOptions) {
      for (const std::string layout : {"gate_up", "up_gate", "interleaved"}) {
        for (int64_t dim : {-1, 0, 1}) {
          const auto x = wide({6, 4, 2 * 19});
          const auto y = unit.packed(x, dim, layout, o.limit, o.up_offset);
          const int64_t d = dim < 0 ? dim + 3 : dim;
          const auto [gate, up] = parts(x, d, layout);
          const auto expected = composite(unit, gate, up, o);
          const auto what = describe(unit, o) + " " + layout + " dim " + std::to_string(dim);
          EXPECT_TRUE(close(y, expected)) << what;
          const auto grad = torch::randn_like(y);
          const auto dx = torch::autograd::grad({y}, {x}, {grad})[0];
          const auto ex = torch::autograd::grad({expected}, {x}, {grad})[0];
          EXPECT_TRUE(close(dx, ex)) << what;
          if (unit.name == "swiglu") {
            const auto direct =
                actops::detail::swiglu_packed_backward(grad, x.detach(), dim, layout, kBeta, o.limit, o.up_offset);
            EXPECT_TRUE(close(direct, ex)) << what;
          }
        }
      }
    }
  }
}

TEST(Gated, GptOssClampedSwigluIsTheReference) {
  torch::manual_seed(2);
  const auto gate_up = wide({8, 2 * 64});
  // the clamp is active on both sides
  EXPECT_TRUE(gate_up.slice(-1, 0, c10::nullopt, 2).gt(7).any().item<bool>());
  EXPECT_TRUE(gate_up.slice(-1, 1, c10::nullopt, 2).abs().gt(7).any().item<bool>());
  const auto y = actops::swiglu(gate_up, -1, "interleaved", 1.702, 7.0, 1.0);
  // gate, up = gate_up[..., ::2], gate_up[..., 1::2]
  auto gate = gate_up.slice(-1, 0, c10::nullopt, 2);
  auto up = gate_up.slice(-1, 1, c10::nullopt, 2);
  gate = gate.clamp(c10::nullopt, 7.0);
  up = up.clamp(-7.0, 7.0);
  const auto expected = (up + 1) * (gate * torch::sigmoid(gate * 1.702));
  EXPECT_TRUE(close(y, expected));
  const auto grad = torch::randn_like(y);
  const auto dx = torch::autograd::grad({y}, {gate_up}, {grad})[0];
  const auto ex = torch::autograd::grad({expected}, {gate_up}, {grad})[0];
  EXPECT_TRUE(close(dx, ex));
  // the low precisions: within a rounding of the float64 reference
  for (auto dtype : {torch::kFloat32, torch::kBFloat16, torch::kFloat16}) {
    const auto x = gate_up.detach().to(dtype);
    const auto low = actops::swiglu(x, -1, "interleaved", 1.702, 7.0, 1.0);
    EXPECT_EQ(low.scalar_type(), dtype);
    const auto x64 = x.to(torch::kFloat64);
    auto g = x64.slice(-1, 0, c10::nullopt, 2).clamp(c10::nullopt, 7.0);
    auto u = x64.slice(-1, 1, c10::nullopt, 2).clamp(-7.0, 7.0);
    const auto ref = (u + 1) * (g * torch::sigmoid(g * 1.702));
    const double eps = dtype == torch::kFloat32 ? 1.2e-7 : dtype == torch::kBFloat16 ? 7.9e-3 : 9.8e-4;
    const double tol = (dtype == torch::kFloat32 ? 16 : 1) * eps;
    EXPECT_TRUE(torch::allclose(low.to(torch::kFloat64), ref, tol, 2 * eps * ref.abs().max().item<double>()))
        << dtype << " " << (low.to(torch::kFloat64) - ref).abs().max().item<double>();
  }
}

TEST(Gated, ClampBoundariesPassTheGradient) {
  // g == limit and u == +-limit are within the bounds: the gradient passes
  const auto gate = torch::tensor({2.0, 2.0, 2.5, 1.0}, torch::kFloat64).requires_grad_(true);
  const auto up = torch::tensor({2.0, -2.0, 0.5, 2.5}, torch::kFloat64).requires_grad_(true);
  for (const auto& unit : units()) {
    const Options o{2.0, 0.5};
    const auto y = unit.split(gate, up, o.limit, o.up_offset);
    const auto expected = composite(unit, gate, up, o);
    EXPECT_TRUE(close(y, expected)) << unit.name;
    const auto g = torch::autograd::grad({y.sum()}, {gate, up});
    const auto e = torch::autograd::grad({expected.sum()}, {gate, up});
    EXPECT_TRUE(close(g[0], e[0]) && close(g[1], e[1])) << unit.name;
    EXPECT_NE(g[0][0].item<double>(), 0.0) << unit.name;
    EXPECT_EQ(g[0][2].item<double>(), 0.0) << unit.name;
    EXPECT_NE(g[1][0].item<double>(), 0.0) << unit.name;
    EXPECT_NE(g[1][1].item<double>(), 0.0) << unit.name;
    EXPECT_EQ(g[1][3].item<double>(), 0.0) << unit.name;
  }
  // relu'(0) = 0
  const auto zero = torch::zeros({1}, torch::kFloat64).requires_grad_(true);
  const auto dz = torch::autograd::grad({actops::reglu(zero, torch::ones({1}, torch::kFloat64))}, {zero})[0];
  EXPECT_EQ(dz.item<double>(), 0.0);
}

// Second derivatives: grad of <v, first gradients> in (inputs, grad) against
// the composite's, split (broadcasting) and packed; and against central
// differences of the backward op.
TEST(Gated, DoubleBackwardMatchesComposite) {
  torch::manual_seed(3);
  for (const auto& unit : units()) {
    for (const auto& o : kOptions) {
      std::vector<double> kinks;
      if (unit.name == "reglu") kinks.push_back(0.0);
      if (o.limit) {
        kinks.push_back(*o.limit);
        kinks.push_back(-*o.limit);
      }
      const auto what = describe(unit, o);
      {
        const auto gate = away_from(torch::randn({2, 1, 5}, torch::kFloat64) * 3, kinks).requires_grad_(true);
        const auto up = away_from(torch::randn({3, 5}, torch::kFloat64) * 3, kinks).requires_grad_(true);
        const auto grad = torch::randn({2, 3, 5}, torch::kFloat64).requires_grad_(true);
        const auto v_gate = torch::randn_like(gate);
        const auto v_up = torch::randn_like(up);
        auto second = [&](const Tensor& y) {
          const auto first = torch::autograd::grad({y}, {gate, up}, {grad}, true, true);
          const auto inner = (first[0] * v_gate).sum() + (first[1] * v_up).sum();
          return torch::autograd::grad({inner}, {gate, up, grad});
        };
        const auto got = second(unit.split(gate, up, o.limit, o.up_offset));
        const auto expected = second(composite(unit, gate, up, o));
        for (size_t i = 0; i < 3; ++i) {
          EXPECT_TRUE(close(got[i], expected[i])) << what << " split, input " << i;
        }
      }
      for (const std::string layout : {"gate_up", "up_gate", "interleaved"}) {
        const auto x = away_from(torch::randn({3, 10}, torch::kFloat64) * 3, kinks).requires_grad_(true);
        const auto grad = torch::randn({3, 5}, torch::kFloat64).requires_grad_(true);
        const auto v = torch::randn_like(x);
        auto second = [&](const Tensor& y) {
          const auto first = torch::autograd::grad({y}, {x}, {grad}, true, true)[0];
          return torch::autograd::grad({(first * v).sum()}, {x, grad});
        };
        const auto [gate, up] = parts(x, 1, layout);
        const auto got = second(unit.packed(x, 1, layout, o.limit, o.up_offset));
        const auto expected = second(composite(unit, gate, up, o));
        EXPECT_TRUE(close(got[0], expected[0])) << what << " " << layout << " d/dx";
        EXPECT_TRUE(close(got[1], expected[1])) << what << " " << layout << " d/dgrad";
      }
    }
  }
  // the double backward op against central differences of the backward op
  const auto gate = away_from(torch::linspace(-6, 6, 49, torch::kFloat64), {-2.0, 2.0});
  const auto up = away_from(torch::linspace(3, -3, 49, torch::kFloat64), {-2.0, 2.0});
  const auto ones = torch::ones_like(gate);
  const auto gg_gate = torch::randn_like(gate);
  const auto gg_up = torch::randn_like(up);
  const auto [d_grad, d_gate, d_up] =
      actops::detail::swiglu_double_backward(gg_gate, gg_up, ones, gate, up, kBeta, 2.0, 0.5);
  const double h = 1e-6;
  // element-wise, the directional derivative of (grad_gate, grad_up) along
  // (gg_gate, gg_up) is the Hessian applied to gg: the double backward's d_gate, d_up
  const auto b_plus = actops::detail::swiglu_backward(ones, gate + h * gg_gate, up + h * gg_up, kBeta, 2.0, 0.5);
  const auto b_minus = actops::detail::swiglu_backward(ones, gate - h * gg_gate, up - h * gg_up, kBeta, 2.0, 0.5);
  const auto numeric_gate = (std::get<0>(b_plus) - std::get<0>(b_minus)) / (2 * h);
  const auto numeric_up = (std::get<1>(b_plus) - std::get<1>(b_minus)) / (2 * h);
  EXPECT_TRUE(torch::allclose(d_gate, numeric_gate, 1e-6, 1e-7)) << (d_gate - numeric_gate).abs().max();
  EXPECT_TRUE(torch::allclose(d_up, numeric_up, 1e-6, 1e-7)) << (d_up - numeric_up).abs().max();
  // d_grad = gg_gate f_g + gg_up f_u
  const auto first = actops::detail::swiglu_backward(ones, gate, up, kBeta, 2.0, 0.5);
  EXPECT_TRUE(close(d_grad, gg_gate * std::get<0>(first) + gg_up * std::get<1>(first)));
}

TEST(Gated, DefaultsAreThePinnedOnes) {
  torch::manual_seed(4);
  const auto x = torch::randn({3, 8}, torch::kFloat64) * 4;
  const auto gate = x.narrow(1, 0, 4);
  const auto up = x.narrow(1, 4, 4);
  EXPECT_TRUE(torch::equal(actops::swiglu(x, -1), actops::swiglu(x, -1, "gate_up", 1.0, c10::nullopt, 0.0)));
  EXPECT_TRUE(torch::equal(actops::swiglu(x, -1), actops::swiglu(gate, up)));
  EXPECT_TRUE(close(actops::swiglu(gate, up), torch::silu(gate) * up));
  EXPECT_TRUE(torch::equal(actops::geglu(x, 1), actops::geglu(x, 1, "gate_up", "none", c10::nullopt, 0.0)));
  EXPECT_TRUE(close(actops::geglu(gate, up), torch::gelu(gate) * up));
  EXPECT_TRUE(torch::equal(actops::reglu(x, 1), actops::reglu(x, 1, "gate_up", c10::nullopt, 0.0)));
  EXPECT_TRUE(close(actops::reglu(gate, up), torch::relu(gate) * up));
}

TEST(Gated, ShapesAndLayouts) {
  // 0-d split; empty split and packed; non-contiguous; channels_last
  const auto g0 = torch::tensor(1.5, torch::kFloat64);
  const auto u0 = torch::tensor(-0.5, torch::kFloat64);
  EXPECT_EQ(actops::swiglu(g0, u0).dim(), 0);
  EXPECT_TRUE(close(actops::reglu(g0, u0, 1.0, 0.25), torch::relu(g0.clamp_max(1.0)) * (u0 + 0.25)));
  EXPECT_EQ(actops::geglu(torch::randn({0, 4}), torch::randn({4})).sizes(), torch::IntArrayRef({0, 4}));
  EXPECT_EQ(actops::geglu(torch::randn({0, 8}), -1, "interleaved").sizes(), torch::IntArrayRef({0, 4}));
  const auto t = torch::randn({10, 6}, torch::kFloat64).t();  // (6, 10), non-contiguous
  EXPECT_TRUE(close(actops::swiglu(t, 1, "up_gate"), torch::silu(t.narrow(1, 5, 5)) * t.narrow(1, 0, 5)));
  const auto cl = torch::randn({2, 8, 3, 5}, torch::kFloat64).contiguous(torch::MemoryFormat::ChannelsLast);
  const auto y = actops::reglu(cl, 1, "interleaved", 1.0, 0.5);
  EXPECT_TRUE(y.is_contiguous(torch::MemoryFormat::ChannelsLast));
  const auto [gate, up] = parts(cl, 1, "interleaved");
  EXPECT_TRUE(close(y, torch::relu(gate.clamp_max(1.0)) * (up.clamp(-1.0, 1.0) + 0.5)));
}

TEST(Gated, ErrorsNameTheOp) {
  for (const std::string name : {"swiglu", "geglu", "reglu"}) {
    auto split = [&](const Tensor& g, const Tensor& u, Limit limit) {
      if (name == "swiglu") return actops::swiglu(g, u, 1.0, limit);
      if (name == "geglu") return actops::geglu(g, u, "none", limit);
      return actops::reglu(g, u, limit);
    };
    auto packed = [&](const Tensor& x, int64_t dim, const std::string& layout, Limit limit) {
      if (name == "swiglu") return actops::swiglu(x, dim, layout, 1.0, limit);
      if (name == "geglu") return actops::geglu(x, dim, layout, "none", limit);
      return actops::reglu(x, dim, layout, limit);
    };
    const std::string op = "actops." + name;
    const std::string op_packed = op + "_packed";
    expect_error_containing(
        [&] {
          packed(torch::randn({3, 7}), -1, "gate_up", c10::nullopt);
        },
        {op_packed + ":", "the size of dim -1 (7) must be even"});
    expect_error_containing(
        [&] {
          packed(torch::randn({3, 8}), -1, "gates", c10::nullopt);
        },
        {op_packed + ":", "layout must be 'gate_up', 'up_gate' or 'interleaved', got 'gates'"});
    expect_error_containing(
        [&] {
          packed(torch::randn({3, 8}), 2, "gate_up", c10::nullopt);
        },
        {op_packed + ":", "dim 2 is out of range for x with 2 dimensions"});
    expect_error_containing(
        [&] {
          packed(torch::randn({3, 8}), -1, "interleaved", 0.0);
        },
        {op_packed + ":", "limit must be positive, got 0"});
    expect_error_containing(
        [&] {
          split(torch::randn({3, 4}), torch::randn({4}), -1.5);
        },
        {op + ":", "limit must be positive, got -1.5"});
    expect_error_containing(
        [&] {
          split(torch::randn({3, 4}), torch::randn({4}), std::numeric_limits<double>::quiet_NaN());
        },
        {op + ":", "limit must be positive, got nan"});
    expect_error_containing(
        [&] {
          split(torch::randn({3, 4}), torch::randn({5}), c10::nullopt);
        },
        {op + ":", "gate of shape [3, 4] and up of shape [5] do not broadcast"});
    expect_error_containing([&] { split(torch::arange(4), torch::randn({4}), c10::nullopt); },
                            {op + ":", "gate must be a floating-point tensor", "int64"});
    expect_error_containing(
        [&] {
          packed(torch::arange(8).view({2, 4}), -1, "gate_up", c10::nullopt);
        },
        {op_packed + ":", "x must be a floating-point tensor", "int64"});
  }
  expect_error_containing([] { actops::geglu(torch::randn({4}), torch::randn({4}), "fast"); },
                          {"actops.geglu:", "approximate must be 'none' or 'tanh', got 'fast'"});
  expect_error_containing(
      [] {
        actops::detail::swiglu_backward(torch::randn({3, 5}), torch::randn({3, 4}), torch::randn({4}), 1.0);
      },
      {"actops.swiglu_backward:", "grad has shape [3, 5] but the output has shape [3, 4]"});
  expect_error_containing(
      [] {
        actops::detail::reglu_packed_backward(torch::randn({3, 4}), torch::randn({3, 8}), -1, "bad");
      },
      {"actops.reglu_packed_backward:", "layout must be"});
}

// ---- swiglu against the composite, second derivative ----

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

TEST(Swiglu, PackedOddSizeNamesTheNumber) {
  expect_error_containing(
      [] {
        actops::swiglu(torch::randn({3, 7}), -1);
      },
      {"actops.swiglu_packed", "(7) must be even"});
}

}  // namespace
