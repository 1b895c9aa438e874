"""Every op on a CUDA GPU, against the CPU kernels as the exact reference.

Skipped where torch sees no GPU (this project's CI machines): there `make
cuda-check` builds the CUDA kernels against torch 2.11+cu130 and checks that
every op has one registered (scripts/check_cuda_build.py); this file is what
runs them, on a GPU machine (scripts/gpu_check.sh).

Each case calls one op through the dispatcher (torch.ops.actops), so its
autograd reaches the op's backward and double-backward ops on the device:
values, first and second derivatives on CUDA are held to be as accurate as
the CPU's, in every dtype, on contiguous, strided, broadcast, packed and
interleaved inputs. Then gradcheck/gradgradcheck in float64, opcheck,
torch.compile, out= and in place, a side stream, bitwise-reproducible
parameter gradients and one op past 2^31 elements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pytest
import torch

import actops
from actops import registry
from conftest import by_registry_name, form

ops = torch.ops.actops

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason="no CUDA GPU (torch.cuda.is_available() is False): the CUDA kernels are built and their "
    "registration checked by `make cuda-check`; they run on a GPU machine (scripts/gpu_check.sh)",
)

DTYPES = [torch.float32, torch.float64, torch.bfloat16, torch.float16]
# Ulps (of the dtype, relative to the float64 value) that a CUDA result may
# add to the CPU's own error: float32 and float64 use the device's exp and
# erfc where the CPU uses its own vector exp; bfloat16 and float16 are
# computed in float and rounded once on both.
ULPS = {torch.float32: 4, torch.float64: 4, torch.bfloat16: 1, torch.float16: 1}


@dataclass
class Case:
    """One op with a way to make its inputs: `make(dtype)` returns the CPU
    tensors (the differentiable ones first, `n_grad` of them) and `call`
    runs the op on them."""

    name: str
    call: Callable
    make: Callable
    n_grad: int
    smooth: bool = True  # second derivatives to compare (not piecewise linear)
    extra: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.name


def values(shape, dtype, scale=4.0):
    """Ordinary values with the tails mixed in (finite in every dtype)."""
    x = torch.randn(shape, dtype=torch.float64) * scale
    flat = x.view(-1)
    tails = torch.tensor([-300.0, -90.0, -30.0, -10.0, -1e-3, 0.0, 1e-3, 10.0, 30.0, 90.0, 300.0], dtype=torch.float64)
    k = min(flat.numel(), tails.numel())
    flat[:k] = tails[:k]
    return x.to(dtype)


def unary(name, **kwargs):
    op = getattr(ops, name)
    return lambda x: op(x, **kwargs)


def split_case(unit, **kwargs):
    return lambda g, u: getattr(ops, unit)(g, u, **kwargs)


def packed_case(unit, dim, layout, **kwargs):
    return lambda x: getattr(ops, f"{unit}_packed")(x, dim, layout=layout, **kwargs)


def one(shape):
    return lambda dtype: (values(shape, dtype),)


def two(shape_a, shape_b, scale_b=4.0):
    return lambda dtype: (values(shape_a, dtype), values(shape_b, dtype, scale_b))


def transposed(shape):
    """A non-contiguous input: the transpose of a contiguous one."""
    return lambda dtype: (values(shape[::-1], dtype).t(),)


# The cases of each op the functions call, keyed by registry op (the gated
# units' below); an op not listed gets one generic case.
CASE_DATA = by_registry_name(
    {
        "mish": [
            Case("mish", unary("mish"), one((64, 33)), 1),
            Case("mish-strided", unary("mish"), transposed((40, 24)), 1),
        ],
        "relu2": [Case("relu2", unary("relu2"), one((64, 33)), 1, smooth=False)],
        "swish": [
            Case("swish", unary("swish"), one((64, 33)), 1),
            Case("swish-beta", unary("swish", beta=1.702), transposed((40, 24)), 1),
        ],
        "gelu": [
            Case("gelu", unary("gelu"), one((64, 33)), 1),
            Case("gelu-tanh", unary("gelu", approximate="tanh"), one((64, 33)), 1),
        ],
        "trelu": [
            Case("trelu-mask", lambda x: actops.trelu(x, threshold=0.5, alpha=0.1), one((64, 33)), 1, smooth=False)
        ],
        "swish_learnable": [
            Case("swish-learnable-scalar", lambda x, b: ops.swish_learnable(x, b), two((64, 33), (), 0.5), 2),
            Case("swish-learnable-channel", lambda x, b: ops.swish_learnable(x, b), two((8, 16, 5), (16, 1), 0.5), 2),
        ],
        "trelu_learnable": [
            Case(
                "trelu-learnable", lambda x, a: ops.trelu_learnable(x, a, 0.5), two((8, 16, 5), (16, 1), 0.2), 2, False
            )
        ],
        "maxout": [
            Case("maxout-last", lambda x: actops.maxout(x, pieces=4, dim=-1), one((32, 64)), 1, smooth=False),
            Case("maxout-inner", lambda x: actops.maxout(x, pieces=3, dim=1), one((4, 12, 7)), 1, smooth=False),
        ],
    },
    "CASE_DATA",
)


def generic_case(entry, op) -> Case:
    """One case of an op CASE_DATA does not list: conftest.form's call at the
    defaults, every tensor differentiable, on values() with the tails."""
    sample = form(entry, op, shape=(64, 34))

    def make(dtype):
        return tuple(
            t.to(dtype) if name == entry.learnable else values(t.shape, dtype)
            for name, t in zip(sample.tensor_names, sample.make(torch.float64))
        )

    smooth = f"{op}_double_backward" in entry.backward_ops
    return Case(op, lambda *tensors: sample.call_op(tensors), make, len(sample.tensor_names), smooth)


CASES = [
    case
    for entry in registry.OPS
    if entry.kind != "gated"
    for op in entry.function_ops
    for case in CASE_DATA.get(op) or [generic_case(entry, op)]
]
GATED_OPTIONS = {
    "swiglu": [{}, {"beta": 1.702, "limit": 7.0, "up_offset": 1.0}],
    "geglu": [{}, {"approximate": "tanh", "limit": 2.0, "up_offset": -0.5}],
    "reglu": [{}, {"limit": 7.0, "up_offset": 1.0}],
}
for unit in registry.names("gated"):
    for i, kw in enumerate(GATED_OPTIONS.get(unit, [{}])):
        smooth = f"{unit}_double_backward" in registry.get(unit).backward_ops and unit != "reglu"
        CASES.append(Case(f"{unit}{i}-split", split_case(unit, **kw), two((48, 40), (48, 40)), 2, smooth))
        CASES.append(Case(f"{unit}{i}-broadcast-up", split_case(unit, **kw), two((6, 8, 40), (8, 1)), 2, smooth))
        for layout in registry.LAYOUTS:
            CASES.append(Case(f"{unit}{i}-{layout}", packed_case(unit, -1, layout, **kw), one((48, 80)), 1, smooth))
        CASES.append(Case(f"{unit}{i}-interleaved-dim0", packed_case(unit, 0, "interleaved", **kw), one((8, 30)), 1))

case_params = pytest.mark.parametrize("case", CASES, ids=str)


def random_like(t: torch.Tensor, generator: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
    """Standard normal values rounded to `dtype`, in t's dtype and device."""
    return torch.randn(t.shape, generator=generator, dtype=torch.float64).to(dtype).to(t.dtype).to(t.device)


def derivatives(case: Case, inputs, dtype: torch.dtype):
    """The op's value, its first derivatives (a backward with a fixed grad)
    and, for smooth ops, its second (a double backward with fixed
    directions), on the inputs' device; grad and directions are the same
    values (rounded to `dtype`) whatever the inputs' dtype. Each result comes
    with whether it is a sum over broadcast elements (a parameter's
    gradient, a broadcast up's)."""
    leaves = [t.detach().clone().requires_grad_(i < case.n_grad) for i, t in enumerate(inputs)]
    out = case.call(*leaves)
    generator = torch.Generator().manual_seed(1)
    wrt = leaves[: case.n_grad]
    first = torch.autograd.grad(out, wrt, random_like(out, generator, dtype), create_graph=case.smooth)
    summed = [t.numel() < out.numel() for t in wrt]
    results = [(out, False), *zip(first, summed)]
    if case.smooth:
        directions = [random_like(g, generator, dtype) for g in first]
        second = torch.autograd.grad(first, wrt, directions, allow_unused=True)
        results += [(s, reduced) for s, reduced in zip(second, summed) if s is not None]
    return [(r.detach(), reduced) for r, reduced in results]


def assert_as_accurate(cuda: torch.Tensor, cpu: torch.Tensor, exact: torch.Tensor, summed: bool, what: str):
    """The CUDA result is no further from the float64 result than twice the
    CPU's error plus ULPS ulps, element by element: ulps of each value, or,
    for a sum over broadcast elements (summed in another order on each
    device), of the largest value times 16; NaN where the CPU has NaN."""
    dtype = cpu.dtype
    eps, tiny = torch.finfo(dtype).eps, torch.finfo(dtype).tiny
    cuda64, cpu64 = cuda.cpu().double(), cpu.double()
    assert cuda.shape == cpu.shape and cuda.dtype == dtype, what
    nan = cpu64.isnan()
    assert torch.equal(cuda64.isnan(), nan), f"{what}: NaN in other places than on the CPU"
    scale = 16 * exact.abs().max().expand_as(exact) if summed else exact.abs()
    bound = 2 * (cpu64 - exact).abs() + ULPS[dtype] * eps * scale + tiny
    err = (cuda64 - exact).abs()
    ok = (err <= bound) | nan | (cuda64 == cpu64)
    assert ok.all(), (
        f"{what}: {int((~ok).sum())} of {ok.numel()} values less accurate on CUDA; worst: "
        f"cuda {cuda64.flatten()[(err / bound).nan_to_num(0).argmax()].item()!r}, "
        f"cpu {cpu64.flatten()[(err / bound).nan_to_num(0).argmax()].item()!r}, "
        f"exact {exact.flatten()[(err / bound).nan_to_num(0).argmax()].item()!r}"
    )


@case_params
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_values_and_derivatives_match_the_cpu(case, dtype):
    inputs = case.make(dtype)
    # the CPU's float64 kernels on the same (exactly widened) inputs
    exact = derivatives(case, [t.double() for t in inputs], dtype)
    cpu = derivatives(case, inputs, dtype)
    cuda = derivatives(case, [t.cuda() for t in inputs], dtype)
    assert len(cuda) == len(cpu) == len(exact)
    for i, ((c, summed), (p, _), (e, _)) in enumerate(zip(cuda, cpu, exact)):
        assert c.is_cuda
        assert_as_accurate(c, p, e, summed, f"{case} {dtype} result {i} (value, first, second derivatives)")


@case_params
def test_gradcheck_and_gradgradcheck(case):
    inputs = [t.cuda().requires_grad_(i < case.n_grad) for i, t in enumerate(case.make(torch.float64))]
    # away from the kinks of the piecewise-linear ops, where a finite difference straddles one
    inputs = [t.detach().add(0.013).requires_grad_(t.requires_grad) for t in inputs]
    assert torch.autograd.gradcheck(case.call, inputs, fast_mode=True)
    if case.smooth:
        assert torch.autograd.gradgradcheck(case.call, inputs, fast_mode=True)


def cuda_randn(*shape, **kw):
    return torch.randn(*shape, device="cuda", **kw)


# (op, args, kwargs) on CUDA tensors: forward, backward and mask ops of each kind
OPCHECK = [
    (ops.mish.default, lambda: ((cuda_randn(8, 5, requires_grad=True),), {})),
    (ops.gelu.default, lambda: ((cuda_randn(8, 5, dtype=torch.bfloat16), "tanh"), {})),
    (ops.swish_learnable.default, lambda: ((cuda_randn(6, 4, requires_grad=True), cuda_randn(4).abs() + 0.5), {})),
    (ops.swiglu.default, lambda: ((cuda_randn(6, 4, requires_grad=True), cuda_randn(6, 4)), {"limit": 7.0})),
    (ops.swiglu_packed.default, lambda: ((cuda_randn(6, 8, requires_grad=True), -1), {"layout": "interleaved"})),
    (ops.geglu_backward.default, lambda: ((*(cuda_randn(3, 4) for _ in range(3)), "none", None, 0.0), {})),
    (ops.trelu_with_mask.default, lambda: ((cuda_randn(6, 4), 0.5, 0.1), {})),
    (ops.maxout_with_indices.default, lambda: ((cuda_randn(6, 8, requires_grad=True), 4, -1), {})),
]


@pytest.mark.parametrize("op, make", OPCHECK, ids=[str(op) for op, _ in OPCHECK])
def test_opcheck(op, make):
    args, kwargs = make()
    torch.library.opcheck(op, args, kwargs)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: actops.mish(x),
        lambda x: actops.swiglu(x, layout="interleaved", beta=1.702, limit=7.0, up_offset=1.0),
        lambda x: actops.maxout(x, pieces=2, dim=-1),
    ],
    ids=["mish", "swiglu-gptoss", "maxout"],
)
def test_torch_compile_fullgraph(fn):
    torch._dynamo.reset()
    x = torch.randn(16, 64, device="cuda", requires_grad=True)
    compiled = torch.compile(fn, fullgraph=True)
    expected = fn(x)
    got = compiled(x)
    assert torch.equal(got, expected)
    (g_expected,) = torch.autograd.grad(expected.sum(), x)
    (g_got,) = torch.autograd.grad(compiled(x).sum(), x)
    assert torch.equal(g_got, g_expected)


# the arguments of the out= and in-place checks, keyed by registry name (else the defaults)
INPLACE_ARGUMENTS = by_registry_name({"trelu": {"threshold": 0.5, "alpha": 0.1}}, "INPLACE_ARGUMENTS")


def test_out_and_inplace_forms():
    x = torch.randn(32, 48, device="cuda")
    for entry in registry.OPS:
        if entry.inplace_op is None:
            continue
        kw = INPLACE_ARGUMENTS.get(entry.name, {})
        fn = entry.function
        out = torch.empty_like(x)
        assert fn(x, **kw, out=out) is out and torch.equal(out, fn(x, **kw)), entry.name
        y = x.clone()
        assert entry.inplace_function(y, **kw) is y and torch.equal(y, fn(x, **kw)), entry.name
    out = torch.empty(32, 24, device="cuda")
    assert actops.swiglu(x, out=out) is out and torch.equal(out, actops.swiglu(x))
    out = torch.empty(32, 12, device="cuda")
    assert actops.maxout(x, pieces=4, dim=-1, out=out) is out and torch.equal(out, actops.maxout(x, 4, -1))


def test_kernels_run_on_the_current_stream():
    """Each op's kernel must follow the work queued before it on the
    caller's stream: here a copy held back by a sleep on a side stream."""
    source = torch.randn(1 << 20, device="cuda")
    expected = {name: getattr(actops, name)(source) for name in ["mish", "gelu", "swiglu"]}
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for name, value in expected.items():
            x = torch.zeros_like(source)
            torch.cuda._sleep(50_000_000)  # tens of ms: a kernel on another stream would read zeros
            x.copy_(source)
            got = getattr(actops, name)(x)
            side.synchronize()
            assert torch.equal(got, value), name


@pytest.mark.parametrize(
    "call, shapes",
    [
        (lambda x, b: ops.swish_learnable(x, b), [(256, 64, 33), ()]),
        (lambda x, b: ops.swish_learnable(x, b), [(256, 64, 33), (64, 1)]),
        (lambda x, a: ops.trelu_learnable(x, a, 0.5), [(256, 64, 33), (64, 1)]),
        (lambda g, u: actops.swiglu(g, u), [(256, 64, 33), (64, 1)]),
    ],
    ids=["beta-scalar", "beta-channel", "alpha-channel", "broadcast-up"],
)
def test_parameter_gradients_are_bitwise_reproducible(call, shapes):
    x = torch.randn(shapes[0], device="cuda")
    p = torch.randn(shapes[1], device="cuda").abs() + 0.5
    grad = torch.randn(shapes[0], device="cuda")

    def gradients():
        xs = [x.clone().requires_grad_(), p.clone().requires_grad_()]
        return torch.autograd.grad(call(*xs), xs, grad)

    first = gradients()
    for _ in range(3):
        again = gradients()
        assert all(torch.equal(a, b) for a, b in zip(first, again))


def test_past_2_to_the_31_elements_in_bfloat16():
    """Offsets past 2^31: TensorIterator splits the element-wise ops; the
    maxout kernel indexes in 64 bits."""
    n = (1 << 31) + 4096
    if torch.cuda.get_device_properties(0).total_memory < 4 * n * 2:
        pytest.skip(f"needs {4 * n * 2 / 2**30:.0f} GiB of GPU memory for inputs and outputs past 2^31 elements")
    x = torch.empty(n, dtype=torch.bfloat16, device="cuda")
    x[: n // 2].fill_(-1.5)
    x[n // 2 :].fill_(2.0)
    x[-1] = 3.0
    y = actops.relu2(x)
    assert y[0].item() == 0.0 and y[-2].item() == 4.0 and y[-1].item() == 9.0
    del y
    m = actops.maxout(x, pieces=2, dim=0)
    assert m.shape == (n // 2,) and m[-1].item() == 3.0 and m[0].item() == -1.5 and m[-2].item() == 2.0
    del m
    s = actops.swiglu(x.view(-1, 4096), dim=-1)  # the up half of the last rows lies past 2^31
    expected = actops.swiglu(x.view(-1, 4096)[-2:].float(), dim=-1).to(torch.bfloat16)
    assert torch.equal(s[-2:], expected)
