"""Element-wise activations: values, derivatives, every dtype and layout,
gradcheck, gradgradcheck, opcheck, torch.compile and TorchScript.

Each op is one row of CASES; every test runs over every row."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from typing import Callable

import pytest
import torch
import torch.nn.functional as F

import actops
import references as refs
from conftest import FLOAT_DTYPES, assert_close_ulps


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    function: Callable[[torch.Tensor], torch.Tensor]  # the Python face
    op: Callable[[torch.Tensor], torch.Tensor]  # the registered op
    module: Callable[[], torch.nn.Module]
    reference: Callable[[torch.Tensor], torch.Tensor]  # float64
    derivative: Callable[[torch.Tensor], torch.Tensor]  # float64
    torch_equivalent: Callable[[torch.Tensor], torch.Tensor]
    # (x, expected) pairs at the edges of the float range, for float32 and float64
    limits: tuple[tuple[float, float], ...]
    # ulps allowed against the float64 reference, float32/float64
    ulps: float = 4.0

    def __str__(self) -> str:
        return self.name


INF = float("inf")

CASES = [
    Case(
        name="mish",
        function=actops.mish,
        op=torch.ops.actops.mish,
        module=actops.nn.Mish,
        reference=refs.mish,
        derivative=refs.mish_derivative,
        torch_equivalent=F.mish,
        limits=((INF, INF), (-INF, 0.0), (1e4, 1e4), (-1e4, 0.0), (88.0, 88.0), (-88.0, -88.0 * 6.0546e-39)),
    ),
]

case_params = pytest.mark.parametrize("case", CASES, ids=str)


def sample(n: int = 4001, lo: float = -20.0, hi: float = 20.0, dtype=torch.float64) -> torch.Tensor:
    return torch.linspace(lo, hi, n, dtype=torch.float64).to(dtype)


# ---- values ----------------------------------------------------------------------


@case_params
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_values_against_float64_reference(case, dtype):
    x = sample(dtype=dtype)
    y = case.function(x)
    assert y.dtype == dtype and y.shape == x.shape
    expected = case.reference(x.double())
    if dtype in (torch.float32, torch.float64):
        assert_close_ulps(y, expected, case.ulps, atol=torch.finfo(dtype).tiny)
    else:
        # computed in float32, rounded once: within one ulp of the exact value
        assert_close_ulps(y, expected, 1.0, atol=1e-30)


@case_params
def test_values_against_torch(case):
    x = torch.randn(10000) * 6
    torch.testing.assert_close(case.function(x), case.torch_equivalent(x), rtol=2e-6, atol=1e-7)


@case_params
def test_negative_tail_keeps_relative_accuracy(case):
    x = torch.tensor([-30.0, -40.0, -60.0], dtype=torch.float64)
    y = case.function(x)
    assert (y != 0).all()
    torch.testing.assert_close(y / case.reference(x), torch.ones(3, dtype=torch.float64), rtol=1e-13, atol=0)
    x32 = torch.tensor([-30.0, -60.0])
    torch.testing.assert_close(case.function(x32).double() / case.reference(x32), torch.ones(2, dtype=torch.float64), rtol=1e-6, atol=0)


@case_params
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_limits_and_nan(case, dtype):
    xs = torch.tensor([x for x, _ in case.limits], dtype=dtype)
    expected = torch.tensor([y for _, y in case.limits], dtype=dtype)
    torch.testing.assert_close(case.function(xs), expected, rtol=1e-3, atol=0)
    big = torch.finfo(dtype).max
    extremes = torch.tensor([big, -big, 1e4, -1e4, 88.0, -88.0, 710.0, -710.0], dtype=dtype)
    assert not case.function(extremes).isnan().any()
    grad = torch.ops.actops.__getattr__(f"{case.name}_backward")(torch.ones_like(extremes), extremes)
    assert not grad.isnan().any()
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
    x = (torch.randn(3, 17, dtype=torch.float64) * 4).requires_grad_()
    assert torch.autograd.gradcheck(case.function, (x,))
    assert torch.autograd.gradgradcheck(case.function, (x,))


@case_params
def test_backward_op_gradcheck(case):
    backward = getattr(torch.ops.actops, f"{case.name}_backward")
    grad = torch.randn(40, dtype=torch.float64, requires_grad=True)
    x = (torch.randn(40, dtype=torch.float64) * 4).requires_grad_()
    assert torch.autograd.gradcheck(backward, (grad, x))


@case_params
def test_third_derivative_is_refused_clearly(case):
    x = torch.randn(5, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(case.function(x).sum(), x, create_graph=True)
    (gg,) = torch.autograd.grad(g.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match=f"actops.{case.name}.*third order"):
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
    assert len(packed) == 1 and packed[0] is x
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
    expected = case.function(x.detach().contiguous())
    torch.testing.assert_close(y, expected, rtol=3e-7 if dtype != torch.float16 else 1e-3, atol=0)
    g = torch.randn_like(y)
    (grad,) = torch.autograd.grad(y, x, g)
    torch.testing.assert_close(
        grad.double(), (g.double() * case.derivative(x.detach().double())), rtol=2e-2 if dtype in (torch.bfloat16, torch.float16) else 2e-6, atol=1e-5
    )


@pytest.mark.parametrize("capability", ["default", "avx2"])
def test_every_instruction_set_gives_the_same_results(capability):
    """The DEFAULT and AVX2 kernels (chosen by ATEN_CPU_CAPABILITY) agree with the reference."""
    script = f"""
import torch, actops, sys
sys.path.insert(0, {os.path.dirname(__file__)!r})
import references as refs
from conftest import assert_close_ulps
assert actops.cpu_capability() == {capability.upper()!r}, actops.cpu_capability()
for case in ("mish",):
    fn = getattr(actops, case)
    for dtype in (torch.float32, torch.float64):
        x = torch.linspace(-20, 20, 4001, dtype=torch.float64).to(dtype)
        assert_close_ulps(fn(x), getattr(refs, case)(x), 4.0, atol=torch.finfo(dtype).tiny)
    for dtype in (torch.bfloat16, torch.float16):
        x = torch.linspace(-20, 20, 4001, dtype=torch.float64).to(dtype)
        assert_close_ulps(fn(x), getattr(refs, case)(x), 1.0, atol=1e-30)
print("ok")
"""
    env = dict(os.environ, ATEN_CPU_CAPABILITY=capability)
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


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
    with pytest.raises(TypeError, match=rf"actops\.{case.name}: x must be a floating-point tensor.*got dtype {dtype_name}"):
        case.function(x)
    with pytest.raises(TypeError, match=rf"actops\.{case.name}"):
        case.function(x.to("meta"))


@case_params
def test_backward_rejects_mismatched_grad(case):
    backward = getattr(torch.ops.actops, f"{case.name}_backward")
    x = torch.randn(3, 4)
    with pytest.raises(RuntimeError, match=rf"actops\.{case.name}_backward: grad has shape \[4, 3\] but x has shape \[3, 4\]"):
        backward(torch.ones(4, 3), x)
    with pytest.raises(TypeError, match=rf"actops\.{case.name}_backward: grad has dtype float64 but x has dtype float32"):
        backward(torch.ones(3, 4, dtype=torch.float64), x)


# ---- the op in every face ------------------------------------------------------


@case_params
def test_every_face_is_the_same_op(case):
    x = torch.randn(100)
    y = case.op(x)
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
        torch.library.opcheck(case.op, (x,))
    backward = getattr(torch.ops.actops, f"{case.name}_backward")
    x = torch.randn(3, 7, dtype=torch.float64, requires_grad=True)
    torch.library.opcheck(backward, (torch.randn(3, 7, dtype=torch.float64, requires_grad=True), x))


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
    assert any(f"ops.actops.{case.name}(" in m.code for m in loaded.modules())
    x = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    y_eager = model(x)
    (g_eager,) = torch.autograd.grad(y_eager.sum(), x)
    y_loaded = loaded(x)
    (g_loaded,) = torch.autograd.grad(y_loaded.sum(), x)
    torch.testing.assert_close(y_loaded, y_eager, rtol=0, atol=0)
    torch.testing.assert_close(g_loaded, g_eager, rtol=0, atol=0)


@case_params
def test_torchscript_function(case):
    scripted = torch.jit.script(case.function)
    x = torch.randn(20)
    assert torch.equal(scripted(x), case.function(x))
