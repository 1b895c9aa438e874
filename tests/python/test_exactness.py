"""Exactness where it is hardest to keep, each found adversarially and held
here: GELU's float32 tail through the vector path,
results that are normal floats while exp(x) is subnormal, the second
derivative of mish past its exp cut, swish's limits at 0 * inf, and a single
parameter's gradient summed deterministically in double.

Long contiguous inputs go through the SIMD loop, strided views through the
scalar loop: both are checked. test_elementwise runs these under the DEFAULT
and AVX2 kernels too."""

from __future__ import annotations

import math

import mpmath
import pytest
import torch

import actops
import references as refs
from actops import registry
from conftest import assert_close_ulps, assert_passes_under_capability

ops = torch.ops.actops
TINY32 = torch.finfo(torch.float32).tiny
SUBNORMAL32 = 2.0**-149


def both_paths(x: torch.Tensor):
    """x contiguous (vector loop) and the same values as a strided view (scalar loop)."""
    return {"vector": x, "scalar": torch.stack([x, x], 1)[:, 0]}


def assert_relative(y: torch.Tensor, expected64: torch.Tensor, ulps: float):
    """|y - expected| <= ulps eps |expected|, or one subnormal spacing where expected is subnormal."""
    assert_close_ulps(y, expected64, ulps, atol=SUBNORMAL32 if y.dtype == torch.float32 else 0.0)


@pytest.mark.parametrize("path", ["vector", "scalar"])
def test_gelu_float32_keeps_relative_accuracy_in_every_tail(path):
    # x^2 rounded before exp(-x^2 / 2) cost 224 ulps at x = -11.6 in the vector path
    x = both_paths(torch.cat([torch.linspace(-14.5, 6.0, 20001), torch.tensor([-11.6, -1.35])]))[path]
    x64 = x.double()
    assert_relative(actops.gelu(x), refs.gelu(x64), 4)
    # the derivative crosses 0 near x = -0.75: there, to what an ulp of x costs
    d = refs.gelu_derivative(x64)
    phi = torch.exp(-x64 * x64 / 2) / math.sqrt(2 * math.pi)
    scale = d.abs() + (x64 * phi * (2 - x64 * x64)).abs()
    g = ops.gelu_backward(torch.ones_like(x), x, "none")
    assert_close_ulps(g, d, 4, atol=SUBNORMAL32, scale=scale)


@pytest.mark.parametrize("path", ["vector", "scalar"])
@pytest.mark.parametrize("op", ["mish", "swish", "gelu_tanh"])
def test_normal_results_from_subnormal_exponentials(op, path):
    # mish(-100) was -3.78e-42 for -3.72e-42; x exp(x) is a normal float down to x ~ -92.6
    x = both_paths(torch.linspace(-110.0, -60.0, 5001) if op != "gelu_tanh" else torch.linspace(-10.6, -9.0, 4001))[
        path
    ]
    x64 = x.double()
    function, reference = {
        "mish": (actops.mish, refs.mish),
        "swish": (actops.swish, refs.swish),
        "gelu_tanh": (lambda t: actops.gelu(t, approximate="tanh"), lambda t: refs.gelu(t, "tanh")),
    }[op]
    y = function(x)
    expected = reference(x64)
    assert (expected.abs() > TINY32).any() and (expected.abs() < TINY32).any()
    if op == "gelu_tanh":
        # u(x) = c (x + 0.044715 x^3) is rounded in float32 before exp(-2|u|)
        # (~87 here): to what an ulp of x costs, as test_elementwise measures
        scale = expected.abs() + (x64 * refs.gelu_derivative(x64, "tanh")).abs()
        assert_close_ulps(y, expected, 4, atol=SUBNORMAL32, scale=scale)
    else:
        assert_relative(y, expected, 4)


@pytest.mark.parametrize("path", ["vector", "scalar"])
def test_mish_derivatives_in_the_deep_tail(path):
    x = both_paths(torch.linspace(-100.0, -60.0, 4001))[path]
    x64 = x.double()
    e = torch.exp(x64)
    assert_relative(ops.mish_backward(torch.ones_like(x), x), (1 + x64) * e, 4)
    assert_relative(ops.mish_double_backward(torch.ones_like(x), x), (2 + x64) * e, 4)


@pytest.mark.parametrize("path", ["vector", "scalar"])
def test_swiglu_of_a_subnormal_gate_times_a_large_up(path):
    # swiglu(x, x) near x = -96 was 4675 ulps off although the result is a normal float
    x = both_paths(torch.linspace(-100.0, -85.0, 3001))[path]
    x64 = x.double()
    assert_relative(actops.swiglu(x, x), refs.swish(x64) * x64, 4)


# swish with beta != 1 in its negative tail, alone and as a gate times a large
# up (whose product is a normal float while the gate is subnormal): beta x
# rounded to float before exp cost |beta x| / 2 ulps, 147 ulps at
# swiglu(-92.56, 1e30, beta=1.702). beta: a Python float (the op rounds it to
# float too: its rounding error counts) or a float32 tensor.
BETA_TAIL_CASES = {
    "swish-1.702": (1.702, None),
    "swish-0.3": (0.3, None),
    "swish-tensor": (torch.tensor(1.702), None),
    "swiglu-1.702": (1.702, 1e30),
    "swiglu-0.3": (0.3, 1e30),
}


@pytest.mark.parametrize("path", ["vector", "scalar"])
@pytest.mark.parametrize("case", list(BETA_TAIL_CASES))
def test_swish_with_beta_keeps_relative_accuracy_in_the_negative_tail(case, path):
    beta, up = BETA_TAIL_CASES[case]
    beta64 = beta.double() if isinstance(beta, torch.Tensor) else beta
    # beta x from -150 (swish alone: -80) to -3 (past the zero of the derivative
    # at -1.28, where relative accuracy is not the measure): every value normal, the
    # deep tail (below -64) included
    grid = torch.linspace(-150.0 if up else -80.0, -3.0, 4001) / float(beta64)
    x = both_paths(grid)[path].clone().requires_grad_()
    x64 = x.detach().double()
    y = actops.swish(x, beta=beta) if up is None else actops.swiglu(x, torch.full_like(x, up), beta=beta)
    scale = 1.0 if up is None else up
    expected, slope = refs.swish(x64, beta64) * scale, refs.swish_derivative(x64, beta64) * scale
    assert (expected.abs() > TINY32).all()
    (g,) = torch.autograd.grad(y.sum(), x)
    assert_relative(y.detach(), expected, 4)
    assert_relative(g, slope, 4)


def conditioning(reference, x64: torch.Tensor) -> torch.Tensor:
    """|f(x)| + |x f'(x)| of a float64 reference, f' by central differences:
    what an ulp of x costs f, the scale assert_close_ulps measures against."""
    h = 1e-6 * x64.abs().clamp_min(1.0)
    slope = (reference(x64 + h) - reference(x64 - h)) / (2 * h)
    return reference(x64).abs() + (x64 * slope).abs()


# Float32 vectors take the cheap exp where every lane is above the deep tail
# and the exact two-factor exp where one lane is in it: ordinary values that
# share a vector with a deep one run the second form, and must be as exact
# there as alone. op -> (forward, its float64 reference, derivative, its
# reference, a value that sends its vector to the deep form)
DEEP_NEIGHBOURS = {
    "mish": (actops.mish, refs.mish, lambda x: ops.mish_backward(torch.ones_like(x), x), refs.mish_derivative, -100.0),
    "swish": (
        actops.swish,
        refs.swish,
        lambda x: ops.swish_backward(torch.ones_like(x), x, 1.0),
        refs.swish_derivative,
        100.0,
    ),
    "gelu": (
        actops.gelu,
        refs.gelu,
        lambda x: ops.gelu_backward(torch.ones_like(x), x, "none"),
        refs.gelu_derivative,
        -14.0,
    ),
    "gelu_tanh": (
        lambda x: actops.gelu(x, approximate="tanh"),
        lambda x: refs.gelu(x, "tanh"),
        lambda x: ops.gelu_backward(torch.ones_like(x), x, "tanh"),
        lambda x: refs.gelu_derivative(x, "tanh"),
        -10.0,
    ),
    # gated: gate(x) * up with up = 1.5, and d/d gate
    "swiglu": (
        lambda x: actops.swiglu(x, torch.full_like(x, 1.5)),
        lambda x: refs.swish(x) * 1.5,
        lambda x: ops.swiglu_backward(torch.ones_like(x), x, torch.full_like(x, 1.5), 1.0, None, 0.0)[0],
        lambda x: refs.swish_derivative(x) * 1.5,
        -100.0,
    ),
    "geglu": (
        lambda x: actops.geglu(x, torch.full_like(x, 1.5)),
        lambda x: refs.gelu(x) * 1.5,
        lambda x: ops.geglu_backward(torch.ones_like(x), x, torch.full_like(x, 1.5), "none", None, 0.0)[0],
        lambda x: refs.gelu_derivative(x) * 1.5,
        14.0,
    ),
}


@pytest.mark.parametrize("op", list(DEEP_NEIGHBOURS))
def test_a_deep_lane_leaves_its_neighbours_exact(op):
    forward, reference, derivative, derivative_reference, deep = DEEP_NEIGHBOURS[op]
    ordinary = torch.linspace(-6.0, 6.0, 4096)
    # every vector of 8 (or 16) lanes holds ordinary values and deep ones
    mixed = torch.stack([ordinary, torch.full_like(ordinary, deep)], 1).flatten()
    x64 = ordinary.double()
    for function, expected_of in ((forward, reference), (derivative, derivative_reference)):
        expected = expected_of(x64)
        scale = conditioning(expected_of, x64)
        alone = function(ordinary)
        among_deep = function(mixed)[0::2]
        assert_close_ulps(alone, expected, 4, atol=SUBNORMAL32, scale=scale)
        assert_close_ulps(among_deep, expected, 4, atol=SUBNORMAL32, scale=scale)


def mish_second_derivative_50_digits(x: float) -> float:
    """2 T' + x T'' with T = tanh(softplus(x)), T' = sech^2(sp) s(x), T'' =
    sech^2(sp) (s(x) s(-x) - 2 T s(x)^2): no cancellation at any x."""
    with mpmath.workdps(50):
        x = mpmath.mpf(x)
        sp = mpmath.log1p(mpmath.exp(x))
        sech2 = mpmath.sech(sp) ** 2
        s, s_neg = 1 / (1 + mpmath.exp(-x)), 1 / (1 + mpmath.exp(x))
        return float(2 * sech2 * s + x * sech2 * (s * s_neg - 2 * mpmath.tanh(sp) * s * s))


@pytest.mark.parametrize(
    "dtype, xs",
    [
        (torch.float32, [1.0, 5.0, 15.0, 19.5, 20.5, 25.0, 30.0, 40.0, 44.0, 50.0]),
        (torch.float64, [1.0, 5.0, 25.0, 39.0, 41.0, 60.0, 100.0, 200.0, 300.0, 350.0]),
    ],
    ids=["float32", "float64"],
)
def test_mish_second_derivative_past_the_exp_cut(dtype, xs):
    # it was frozen past x = 20 (float32) / 40 (float64): -6.5e-16 at x = 25 for -3.7e-20
    x = torch.tensor(xs, dtype=dtype)
    expected = torch.tensor([mish_second_derivative_50_digits(v) for v in xs], dtype=torch.float64)
    for path, t in both_paths(x).items():
        y = ops.mish_double_backward(torch.ones_like(t), t)
        assert_close_ulps(y, expected, 16, atol=torch.finfo(dtype).tiny * 1e-6)
    assert ops.mish_double_backward(torch.ones(2, dtype=dtype), torch.tensor([1e30, math.inf], dtype=dtype)).eq(0).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_swish_limits_at_zero_times_infinity(dtype):
    inf = math.inf
    x = torch.tensor([0.0, -0.0, 1.0, -1.0], dtype=dtype)
    assert actops.swish(x, beta=inf).tolist() == [0.0, 0.0, 1.0, 0.0]
    assert actops.swish(x, beta=-inf).tolist() == [0.0, 0.0, 0.0, -1.0]
    big = torch.tensor([inf, -inf, 2.0], dtype=dtype)
    assert actops.swish(big, beta=0.0).tolist() == [inf, -inf, 1.0]
    # a tensor beta: the same limits
    assert actops.swish(x, beta=torch.tensor(inf, dtype=dtype)).tolist() == [0.0, 0.0, 1.0, 0.0]
    assert actops.swish(big, beta=torch.zeros((), dtype=dtype)).tolist() == [inf, -inf, 1.0]


def run_in_threads(threads: int, function):
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return function()
    finally:
        torch.set_num_threads(previous)


# The learnable parameter of every parametric op (one value: every element's
# term lands in one sum) and the split gated form's up broadcast from one
# value; the arguments beyond x and the parameter, where not the defaults
PARAMETER_GRADIENTS = {"trelu": {"threshold": 0.5}}
SUMMED = [entry.name for entry in registry.OPS if entry.kind == "parametric"] + ["swiglu_up"]


@pytest.mark.parametrize("op", SUMMED)
def test_single_parameter_gradient_is_deterministic_and_float64_accurate(op):
    # summed per thread chunk in float lanes, it changed with the thread count
    # (102.33665 / 102.33842 / 102.34019 at 1 / 2 / 4 threads) and was 10-60x
    # less accurate than torch's own reduction
    torch.manual_seed(0)
    n = (1 << 20) + 13  # blocks of the sum and a scalar tail
    x = torch.randn(n) * 3
    g = torch.randn(n)
    p = torch.tensor(1.3)
    if op == "swiglu_up":

        def grad():
            return ops.swiglu_backward(g, x, p, 1.0, None, 0.0)[1]

        truth = (g.double() * refs.swish(x.double())).sum()
    else:
        entry = registry.get(op)
        learnable_op = entry.learnable_op or entry.op
        arguments = {**entry.defaults, **PARAMETER_GRADIENTS.get(op, {})}
        backward = getattr(ops, f"{learnable_op}_backward").default
        tensors = entry.tensors(learnable_op)
        rest = [arguments[a.name] for a in entry.schema(learnable_op).arguments if a.name not in tensors]
        index = [r.name for r in backward._schema.returns].index(f"grad_{entry.learnable}")

        def grad():
            return backward(g, x, p, *rest)[index]

        # d/dp sum(g * f(x, p)) by autograd through the reference formula, in float64
        p64 = p.double().requires_grad_()
        reference = entry.reference(x.double(), **{**arguments, entry.learnable: p64})
        (truth,) = torch.autograd.grad((g.double() * reference).sum(), p64)
    results = [run_in_threads(t, grad) for t in (1, 2, 3, 4)]
    assert all(r.shape == p.shape for r in results)
    assert len({r.item() for r in results}) == 1, [r.item() for r in results]
    assert grad().item() == results[0].item()
    # per-element float32 terms carry a few ulps each, independent: far below
    # what a float reduction of 2^20 terms loses
    assert abs(results[0].item() - truth.item()) <= 1e-6 * truth.abs().item() + 1e-4


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.float16], ids=str)
def test_trelu_mask_kernels_agree_with_the_scalar_path(dtype):
    x = torch.cat([torch.randn(4099) * 3, torch.tensor([0.5, -0.5, math.inf, -math.inf, math.nan, 0.0])]).to(dtype)
    g = torch.randn(x.shape).to(dtype)
    out, mask = ops.trelu_with_mask(x, 0.5, 0.1)
    assert out.dtype == dtype and mask.dtype == torch.bool
    xs = both_paths(x)["scalar"]
    out_s, mask_s = ops.trelu_with_mask(xs, 0.5, 0.1)
    torch.testing.assert_close(out, out_s, rtol=0, atol=0, equal_nan=True)
    assert torch.equal(mask, mask_s)
    assert torch.equal(mask, x > 0.5)
    opmath = torch.float64 if dtype == torch.float64 else torch.float32
    expected = torch.where(x.to(opmath) > 0.5, x.to(opmath), 0.1 * x.to(opmath)).to(dtype)
    torch.testing.assert_close(out, expected, rtol=0, atol=0, equal_nan=True)
    grad = ops.trelu_backward(g, mask, 0.1)
    grad_s = ops.trelu_backward(both_paths(g)["scalar"], both_paths(mask)["scalar"], 0.1)
    torch.testing.assert_close(grad, grad_s, rtol=0, atol=0)
    torch.testing.assert_close(grad, torch.where(mask, g.to(opmath), 0.1 * g.to(opmath)).to(dtype), rtol=0, atol=0)


@pytest.mark.parametrize("capability", ["default", "avx2"])
def test_every_instruction_set_is_exact(capability):
    """The DEFAULT and AVX2 kernels (chosen by ATEN_CPU_CAPABILITY) pass these tests too."""
    assert_passes_under_capability(capability, __file__, "not every_instruction_set")
