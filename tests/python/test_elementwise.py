"""Element-wise activations: values, derivatives, every dtype and layout,
gradcheck, gradgradcheck, opcheck, torch.compile and TorchScript.

Each op is one row of CASES; every test runs over every row."""

from __future__ import annotations

import dataclasses
import os
from typing import Callable

import pytest
import torch
import torch.nn.functional as F

import actops
import references as refs
from actops import registry
from conftest import FLOAT_DTYPES, assert_close_ulps, assert_passes_under_capability


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    entry: registry.Op
    op: Callable  # the registered op, called as op(x, *args)
    args: tuple
    function: Callable[[torch.Tensor], torch.Tensor]  # the Python face, same parameters
    module: Callable[[], torch.nn.Module]
    reference: Callable[[torch.Tensor], torch.Tensor]  # float64
    derivative: Callable[[torch.Tensor], torch.Tensor]  # float64
    torch_equivalent: Callable[[torch.Tensor], torch.Tensor]
    # (x, expected) pairs at the edges of the float range, for float32 and float64
    limits: tuple[tuple[float, float], ...]
    # negative-tail points where f is tiny but representable (float64, float32)
    tail: tuple[tuple[float, ...], tuple[float, ...]]
    # the backward op, called as backward(grad, x) -> grad * f'(x)
    backward: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    # what the forward keeps for backward: "input", or "mask" (1 byte per element)
    saves: str = "input"
    # whether f'' is nonzero, so a third derivative is asked for (and refused)
    smooth: bool = True
    # ulps allowed against the float64 reference, float32/float64
    ulps: float = 4.0
    # where f or f' has a kink or a jump: finite-difference checks keep away from these
    kinks: tuple[float, ...] = ()

    def __str__(self) -> str:
        return self.name

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x, *self.args)


INF = float("inf")
ops = torch.ops.actops


def is_elementwise(entry: registry.Op) -> bool:
    """An op of one tensor x whose other arguments are numbers (with defaults)."""
    scalars_defaulted = all(name in entry.defaults for name in entry.parameters)
    return entry.kind in ("unary", "parametric") and entry.tensors() == ("x",) and scalars_defaulted


def activation(entry: registry.Op, label: str = "", arguments: dict | None = None, **kw) -> Case:
    """A case of an element-wise op: its registry entry called with these
    arguments (the rest at their defaults) and what the tests need beyond
    the registry (kw: Case's fields)."""
    arguments = arguments or {}
    op = getattr(ops, entry.op)
    args = tuple(arguments.get(name, default) for name, default in entry.defaults.items())
    backward_op = getattr(ops, f"{entry.op}_backward")
    f64, derivative = refs.formulas(entry.name)
    module_class = entry.module_classes[0]
    return Case(
        name=f"{entry.name}[{label}]" if label else entry.name,
        entry=entry,
        op=op,
        args=args,
        function=lambda x: entry.function(x, **arguments),
        module=lambda: module_class(**arguments),
        reference=lambda x: f64(x, *args),
        derivative=lambda x: derivative(x, *args),
        torch_equivalent=kw.pop("torch_equivalent", lambda x: entry.reference(x, *args)),
        limits=kw.pop("limits", ()),
        tail=kw.pop("tail", ((), ())),
        backward=kw.pop("backward", lambda g, x: backward_op(g, x, *args)),
        smooth=f"{entry.op}_double_backward" in entry.backward_ops,
        **kw,
    )


# What the tests need beyond the registry, keyed by registry name: one dict
# per case, with its arguments (else the defaults), the torch op it equals
# (else the registry's reference formula), its values at the edges of the
# float range and in its negative tail. An element-wise op not listed here
# gets one case with its default arguments.
CASE_DATA = {
    "mish": [
        dict(
            torch_equivalent=F.mish,
            limits=((INF, INF), (-INF, 0.0), (1e4, 1e4), (-1e4, 0.0), (88.0, 88.0), (-88.0, -88.0 * 6.0546e-39)),
            tail=((-30.0, -40.0, -60.0), (-30.0, -60.0)),
        )
    ],
    "relu2": [
        dict(
            # relu2 overflows to inf above sqrt(finfo.max) (1.8e19 in float32, 1.3e154 in float64): inf is the right answer
            limits=(
                (INF, INF),
                (-INF, 0.0),
                (1e4, 1e8),
                (-1e4, 0.0),
                (3.0, 9.0),
                (-3.0, 0.0),
                (1e-30, 1e-60),
                (1e20, 1e40),
                (1e155, INF),
                (-1e155, 0.0),
            ),
            kinks=(0.0,),  # f'' jumps from 0 to 2 there; no negative tail: f = 0 for x <= 0
        )
    ],
    "swish": [
        dict(
            arguments={"beta": 1.0},
            torch_equivalent=F.silu,
            limits=((INF, INF), (-INF, 0.0), (1e4, 1e4), (-1e4, 0.0), (88.0, 88.0)),
            tail=((-30.0, -40.0, -60.0), (-30.0, -60.0)),
        ),
        dict(
            label="beta=1.7",
            arguments={"beta": 1.7},
            limits=((INF, INF), (-INF, 0.0), (1e4, 1e4), (-1e4, 0.0)),
            tail=((-30.0, -40.0, -60.0), (-30.0, -45.0)),
        ),
    ],
    "gelu": [
        dict(
            arguments={"approximate": "none"},
            torch_equivalent=F.gelu,
            limits=((INF, INF), (-INF, 0.0), (1e4, 1e4), (-1e4, 0.0), (-10.0, -7.619853024160595e-23)),
            tail=((-10.0, -20.0, -35.0), (-5.0, -10.0)),
        ),
        dict(
            label="tanh",
            arguments={"approximate": "tanh"},
            torch_equivalent=lambda x: F.gelu(x, approximate="tanh"),
            limits=((INF, INF), (-INF, 0.0), (1e4, 1e4), (-1e4, 0.0), (1e20, 1e20), (-1e20, 0.0)),
            tail=((-10.0, -15.0, -20.0), (-5.0, -9.0)),
        ),
    ],
    "trelu": [
        dict(
            arguments={"threshold": 1.0, "alpha": 0.1},
            limits=((INF, INF), (-INF, -INF), (1e4, 1e4), (-1e4, -1e3), (1.0, 0.1)),
            backward=lambda g, x: ops.trelu_backward(g, x > 1.0, 0.1),
            saves="mask",
            ulps=1.0,
            kinks=(1.0,),
        )
    ],
}
ELEMENTWISE = [entry for entry in registry.OPS if is_elementwise(entry)]
assert set(CASE_DATA) <= {entry.name for entry in ELEMENTWISE}, set(CASE_DATA)
CASES = [activation(entry, **data) for entry in ELEMENTWISE for data in CASE_DATA.get(entry.name, [{}])]
SMOOTH = [case for case in CASES if case.smooth]
TAILED = [case for case in CASES if any(case.tail)]  # a negative tail where f is tiny but not 0

case_params = pytest.mark.parametrize("case", CASES, ids=str)
smooth_case_params = pytest.mark.parametrize("case", SMOOTH, ids=str)
tailed_case_params = pytest.mark.parametrize("case", TAILED, ids=str)


def away_from_kinks(case, x: torch.Tensor, gap: float = 0.01) -> torch.Tensor:
    """x with every value within `gap` of one of case's kinks moved 2 * gap away from it,
    so that finite differences (step 1e-6) do not straddle it."""
    for p in case.kinks:
        x = torch.where((x - p).abs() < gap, torch.where(x >= p, x + 2 * gap, x - 2 * gap), x)
    return x


def sample(n: int = 4001, lo: float = -20.0, hi: float = 20.0, dtype=torch.float64) -> torch.Tensor:
    return torch.linspace(lo, hi, n, dtype=torch.float64).to(dtype)


# ---- values ----------------------------------------------------------------------


def assert_accurate(case, x: torch.Tensor, y: torch.Tensor, ulps: float):
    """y = f(x) to `ulps` of the exact value, scaled by f's own sensitivity to
    an ulp of its input (see assert_close_ulps)."""
    x64 = x.double()
    scale = case.reference(x64).abs() + (x64 * case.derivative(x64)).abs()
    assert_close_ulps(y, case.reference(x64), ulps, atol=torch.finfo(y.dtype).tiny, scale=scale)


@case_params
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_values_against_float64_reference(case, dtype):
    x = sample(dtype=dtype)
    y = case.function(x)
    assert y.dtype == dtype and y.shape == x.shape
    # bfloat16 and float16 are computed in float32 and rounded once: one ulp
    assert_accurate(case, x, y, case.ulps if dtype in (torch.float32, torch.float64) else 1.0)


@case_params
def test_values_against_torch(case):
    x = torch.randn(10000, dtype=torch.float64) * 6
    torch.testing.assert_close(case.function(x), case.torch_equivalent(x), rtol=1e-12, atol=1e-14)
    # the peers' float32 tails cancel (1 + erf): compare at their accuracy
    x = x.float()
    torch.testing.assert_close(case.function(x), case.torch_equivalent(x), rtol=1e-5, atol=1e-6)


@tailed_case_params
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
def test_negative_tail_keeps_relative_accuracy(case, dtype):
    x = torch.tensor(case.tail[dtype == torch.float32], dtype=dtype)
    y = case.function(x)
    assert (y != 0).all() and (y < 0).all()
    assert_accurate(case, x, y, case.ulps)


@case_params
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_limits_and_nan(case, dtype):
    xs = torch.tensor([x for x, _ in case.limits], dtype=dtype)
    expected = torch.tensor([y for _, y in case.limits], dtype=dtype)
    torch.testing.assert_close(case.function(xs), expected, rtol=1e-3, atol=0)
    big = torch.finfo(dtype).max
    extremes = torch.tensor([big, -big, 1e4, -1e4, 88.0, -88.0, 710.0, -710.0], dtype=dtype)
    assert not case.function(extremes).isnan().any()
    assert not case.backward(torch.ones_like(extremes), extremes).isnan().any()
    assert case.function(torch.tensor([float("nan")], dtype=dtype)).isnan().all()


# ---- derivatives ---------------------------------------------------------------


@case_params
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_derivative_against_formula(case, dtype):
    x = sample(dtype=dtype).requires_grad_()
    (grad,) = torch.autograd.grad(case.function(x).sum(), x)
    expected = case.derivative(x.detach().double())
    tol = 1e-13 if dtype == torch.float64 else 2e-6
    torch.testing.assert_close(grad.double(), expected, rtol=tol, atol=tol)


@case_params
def test_gradcheck_and_gradgradcheck(case):
    x = away_from_kinks(case, torch.randn(3, 17, dtype=torch.float64) * 4).requires_grad_()
    assert torch.autograd.gradcheck(case, (x,))
    assert torch.autograd.gradgradcheck(case, (x,))


@case_params
def test_backward_op_gradcheck(case):
    grad = torch.randn(40, dtype=torch.float64, requires_grad=True)
    x = away_from_kinks(case, torch.randn(40, dtype=torch.float64) * 4).requires_grad_(case.smooth)
    assert torch.autograd.gradcheck(case.backward, (grad, x))


@smooth_case_params
def test_third_derivative_is_refused_clearly(case):
    x = torch.randn(5, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(case.function(x).sum(), x, create_graph=True)
    (gg,) = torch.autograd.grad(g.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match=rf"actops\.{case.op.__name__}.*third order"):
        torch.autograd.grad(gg.sum(), x)


@case_params
def test_saves_only_its_input(case):
    packed = []

    def pack(t):
        packed.append(t)
        return t

    x = torch.randn(64, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = case.function(x)
    assert len(packed) == 1
    if case.saves == "input":
        assert packed[0] is x
    else:  # a quarter of float32's bytes
        assert packed[0].dtype == torch.bool and torch.equal(packed[0], x > case.args[0])
    y.sum().backward()
    torch.testing.assert_close(x.grad.double(), case.derivative(x.detach()), rtol=2e-6, atol=2e-6)


@case_params
def test_no_grad_inputs_build_no_graph(case):
    y = case.function(torch.randn(8))
    assert not y.requires_grad and y.grad_fn is None
    x = torch.randn(8, requires_grad=True)
    with torch.no_grad():
        assert case.function(x).grad_fn is None


# ---- layouts -------------------------------------------------------------------


@case_params
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
@pytest.mark.parametrize(
    "layout",
    ["contiguous", "channels_last", "transposed", "sliced", "expanded", "empty", "scalar", "large"],
)
def test_layouts(case, dtype, layout):
    base = torch.randn(2, 3, 5, 7, dtype=torch.float64) * 5
    x = {
        "contiguous": base,
        "channels_last": base.contiguous(memory_format=torch.channels_last),
        "transposed": base.transpose(1, 3),
        "sliced": base[:, ::2, 1:, ::3],
        "expanded": base[:1, :1].expand(4, 3, 5, 7),
        "empty": base[:, :0],
        "scalar": torch.tensor(-1.5, dtype=torch.float64),
        "large": torch.randn(300_001, dtype=torch.float64) * 5,  # several threads, vector tails
    }[layout].to(dtype)
    if layout == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    x = x.requires_grad_()
    y = case.function(x)
    assert y.shape == x.shape and y.dtype == dtype
    if layout == "channels_last":
        assert y.is_contiguous(memory_format=torch.channels_last)
    # Strided inner loops and vector tails run the scalar instantiation of the
    # formula (libm's exp/erfc), the rest the vectorized one: both accurate.
    assert_accurate(case, x.detach(), y, case.ulps if dtype in (torch.float32, torch.float64) else 1.0)
    g = torch.randn_like(y)
    (grad,) = torch.autograd.grad(y, x, g)
    torch.testing.assert_close(
        grad.double(),
        (g.double() * case.derivative(x.detach().double())),
        rtol=2e-2 if dtype in (torch.bfloat16, torch.float16) else 2e-6,
        atol=1e-5,
    )


def test_capability_follows_pytorch():
    requested = os.environ.get("ATEN_CPU_CAPABILITY")
    assert actops.cpu_capability() == (requested.upper() if requested else torch.backends.cpu.get_cpu_capability())


@pytest.mark.parametrize("capability", ["default", "avx2"])
def test_every_instruction_set_gives_the_same_results(capability):
    """The DEFAULT and AVX2 kernels (chosen by ATEN_CPU_CAPABILITY) pass the value and layout tests."""
    assert_passes_under_capability(
        capability, __file__, "values_against_float64_reference or negative_tail or layouts or capability_follows"
    )


# ---- bad input -----------------------------------------------------------------


@case_params
@pytest.mark.parametrize(
    "x, dtype_name",
    [
        (torch.arange(4), "int64"),
        (torch.arange(4, dtype=torch.int32), "int32"),
        (torch.ones(3, dtype=torch.bool), "bool"),
        (torch.ones(3, dtype=torch.complex64), "complex64"),
        (torch.ones(3, dtype=torch.uint8), "uint8"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_rejects_non_floating_dtypes(case, x, dtype_name):
    name = case.op.__name__
    with pytest.raises(TypeError, match=rf"actops\.{name}: x must be a floating-point tensor.*got dtype {dtype_name}"):
        case.function(x)
    with pytest.raises(TypeError, match=rf"actops\.{name}"):
        case.function(x.to("meta"))


@smooth_case_params
def test_backward_rejects_mismatched_grad(case):
    backward = getattr(torch.ops.actops, f"{case.op.__name__}_backward")
    x = torch.randn(3, 4)
    with pytest.raises(RuntimeError, match=rf"{backward.__name__}: grad has shape \[4, 3\] but x has shape \[3, 4\]"):
        backward(torch.ones(4, 3), x, *case.args)
    with pytest.raises(TypeError, match=rf"{backward.__name__}: grad has dtype float64 but x has dtype float32"):
        backward(torch.ones(3, 4, dtype=torch.float64), x, *case.args)


# ---- the op in every face ------------------------------------------------------


@case_params
def test_every_face_is_the_same_op(case):
    x = torch.randn(100)
    y = case(x)
    assert torch.equal(case.function(x), y)
    assert torch.equal(case.module()(x), y)


@case_params
def test_opcheck(case):
    samples = [
        torch.randn(4, 8, requires_grad=True),
        torch.randn(2, 3, 4, 5, dtype=torch.float64, requires_grad=True).contiguous(memory_format=torch.channels_last),
        torch.randn(16, dtype=torch.bfloat16),
        torch.randn(5, 6, dtype=torch.float16)[:, ::2],
        torch.randn(()),
    ]
    for x in samples:
        torch.library.opcheck(case.op.default, (x, *case.args))
    x = torch.randn(3, 7, dtype=torch.float64, requires_grad=True)
    grad = torch.randn(3, 7, dtype=torch.float64, requires_grad=True)
    backward = getattr(ops, f"{case.op.__name__}_backward")
    if case.saves == "mask":
        (with_mask,) = case.entry.saving_ops
        torch.library.opcheck(getattr(ops, with_mask), (x, *case.args))
        torch.library.opcheck(backward, (grad, x > case.args[0], case.args[1]))
    else:
        torch.library.opcheck(backward, (grad, x, *case.args))


@case_params
def test_torch_compile_fullgraph_matches_eager(case):
    torch._dynamo.reset()

    def f(x):
        return case.function(x * 2.0).sum(dim=-1)

    compiled = torch.compile(f, fullgraph=True)
    x = torch.randn(8, 33, requires_grad=True)
    (eager_grad,) = torch.autograd.grad(f(x).sum(), x)
    y = compiled(x)
    (compiled_grad,) = torch.autograd.grad(y.sum(), x)
    torch.testing.assert_close(y, f(x))
    torch.testing.assert_close(compiled_grad, eager_grad)


@case_params
def test_torchscript_module_save_load(case, tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(6, 6), case.module(), torch.nn.Linear(6, 2)).double()
    scripted = torch.jit.script(model)
    path = tmp_path / f"{case.name}.pt"
    scripted.save(str(path))
    loaded = torch.jit.load(str(path))
    assert any(f"ops.actops.{case.op.__name__}(" in m.code for m in loaded.modules())
    x = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    y_eager = model(x)
    (g_eager,) = torch.autograd.grad(y_eager.sum(), x)
    y_loaded = loaded(x)
    (g_loaded,) = torch.autograd.grad(y_loaded.sum(), x)
    torch.testing.assert_close(y_loaded, y_eager, rtol=0, atol=0)
    torch.testing.assert_close(g_loaded, g_eager, rtol=0, atol=0)


@pytest.mark.parametrize("function", [entry.function for entry in ELEMENTWISE], ids=lambda f: f.__name__)
def test_torchscript_function(function):
    scripted = torch.jit.script(function)
    x = torch.randn(20)
    assert torch.equal(scripted(x), function(x))
