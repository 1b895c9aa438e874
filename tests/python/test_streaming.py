"""Streaming stores: large outputs are written around the caches, by
map_multi's own loop (ops/cpu/loops.h), from 16 MiB on for the light formulas
(ReLU^2, TReLU, ReGLU: math::is_light) and from 64 MiB on for the others, in
float32 (their other dtypes are bound by arithmetic, and keep plain stores).
That loop must give what the plain loops give, bitwise, for every layout its
callers pass (a misaligned output's head before its first cache line is a
partial vector, never a scalar copy of the formula): a child process with ACTOPS_STREAM_BYTES=0 sends every call of
every formula through it, and the results are compared with this process's,
where the same small calls take the plain loops."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import actops
from actops import registry

A = torch.ops.actops
DTYPES = (torch.float32, torch.float64, torch.bfloat16, torch.float16)
BITS = {torch.float32: torch.int32, torch.float64: torch.int64, torch.bfloat16: torch.int16, torch.float16: torch.int16}


def _inputs(dtype, n):
    g = torch.Generator().manual_seed(n)
    x = (torch.randn(n, generator=g, dtype=torch.float64) * 3).to(dtype)
    x[::97] = float("nan")
    x[1::89] = float("inf")
    x[2::83] = -float("inf")
    x[3::79] = -0.0
    x[4::73] = 0.5  # trelu's threshold: the boundary itself
    return x


def compute():
    """Every light op's calls, by name: odd lengths (a scalar head and tail
    around the vectors), outputs misaligned to a cache line, in place,
    strided and interleaved packed inputs, broadcast parameters, two outputs;
    then the heavy formulas' loops (unary forward, first and second
    derivative; gated split, packed and backward)."""
    results = {}
    for dtype in DTYPES:
        d = str(dtype).removeprefix("torch.")
        n = 4099
        x, u, g = _inputs(dtype, n), _inputs(dtype, n + 1)[1:], _inputs(dtype, n + 2)[2:]
        results[f"relu2 {d}"] = A.relu2(x)
        results[f"relu2_backward {d}"] = A.relu2_backward(g, x)
        results[f"relu2_double_backward {d}"] = A.relu2_double_backward(g, x)
        for shift in (1, 3, 7):  # outputs that start mid-line
            buffer = torch.zeros(n + shift, dtype=dtype)
            results[f"relu2 out+{shift} {d}"] = A.relu2.out(x, out=buffer[shift:])
        results[f"relu2 strided {d}"] = A.relu2(x[::3])
        results[f"relu2 transposed {d}"] = A.relu2(x[:4096].view(64, 64).t())
        results[f"relu2_ {d}"] = A.relu2_(x.clone())
        results[f"trelu {d}"] = A.trelu(x, 0.5, 0.1)
        results[f"trelu_ {d}"] = A.trelu_(x.clone(), 0.5, 0.1)
        alpha = torch.tensor(0.25, dtype=dtype)
        results[f"trelu_learnable {d}"] = A.trelu_learnable(x, alpha, 0.5)
        channels = torch.linspace(-0.5, 0.5, 64, dtype=dtype)
        results[f"trelu_learnable channels {d}"] = A.trelu_learnable(x[:4096].view(64, 64), channels, 0.5)
        results[f"reglu {d}"] = A.reglu(x, u)
        results[f"reglu broadcast {d}"] = A.reglu(x[:4096].view(64, 64), u[:64])
        results[f"reglu clamped {d}"] = A.reglu(x, u, limit=2.0, up_offset=1.0)
        grad_gate, grad_up = A.reglu_backward(g, x, u, None, 0.0)
        results[f"reglu_backward gate {d}"] = grad_gate
        results[f"reglu_backward up {d}"] = grad_up
        packed = _inputs(dtype, 2 * n + 2)[: 2 * 2050].view(2, 2050)
        for layout in ("gate_up", "interleaved"):
            results[f"reglu_packed {layout} {d}"] = A.reglu_packed(packed, -1, layout=layout)
            grad = g[:2050].view(2, 1025)
            results[f"reglu_packed_backward {layout} {d}"] = A.reglu_packed_backward(
                grad, packed, -1, layout, None, 0.0
            )
        if dtype == torch.float32:  # the heavy formulas stream in float32 only
            results.update(_heavy(d, x, u, g))
            results.update(_every_op(d, x, u, g, covered={name.split()[0] for name in results}))
    return results


def _every_op(d, x, u, g, covered):
    """One plain call of every element-wise and gated op of the registry,
    forward and backward, that the calls above do not make: tensors of x's
    length (a learnable parameter one value, a mask x > 0.5), the scalar
    arguments at the functions' defaults, packed inputs of two rows."""
    results = {}
    for entry in registry.OPS:
        if entry.kind == "grouped":
            continue
        for op in entry.forward_ops + entry.backward_ops:
            if op in covered:
                continue
            packed = "packed" in op
            rows = 2 if packed else 1
            n = x.numel() // (2 * rows) * 2 * rows
            args, kwargs = [], {}
            for argument in getattr(A, op).default._schema.arguments:
                if argument.kwarg_only:
                    kwargs[argument.name] = entry.defaults[argument.name]
                    continue
                name = argument.name
                if name not in entry.tensors(op) and not name.startswith(("grad", "gg", "mask")):
                    args.append(entry.defaults.get(name, 2))
                elif entry.learnable and name in (entry.learnable, f"gg_{entry.learnable}"):
                    args.append(torch.tensor(0.75, dtype=x.dtype))
                elif name == "mask":
                    args.append(x > 0.5)
                elif packed and name == "x":
                    args.append(x[:n].view(rows, -1))
                elif packed:  # the output's size: half of x's
                    args.append(g[: n // 2].view(rows, -1))
                else:
                    args.append((u if name in ("up", "gg_up") else g if name.startswith(("grad", "gg")) else x))
            result = getattr(A, op)(*args, **kwargs)
            for k, tensor in enumerate(result if isinstance(result, tuple) else (result,)):
                results[f"{op} registry {k} {d}"] = tensor
    return results


def _heavy(d, x, u, g):
    results = {}
    for shift in (0, 3):  # an output that starts mid-line
        buffer = torch.zeros(x.numel() + shift, dtype=x.dtype)
        results[f"mish out+{shift} {d}"] = A.mish.out(x, out=buffer[shift:])
    results[f"mish_backward {d}"] = A.mish_backward(g, x)
    results[f"mish_double_backward {d}"] = A.mish_double_backward(g, x)
    results[f"mish strided {d}"] = A.mish(x[::3])
    for approximate in ("none", "tanh"):
        results[f"gelu {approximate} {d}"] = A.gelu(x, approximate)
        results[f"gelu_backward {approximate} {d}"] = A.gelu_backward(g, x, approximate)
    results[f"swish 1.7 {d}"] = A.swish(x, 1.7)
    results[f"swish_backward 1.7 {d}"] = A.swish_backward(g, x, 1.7)
    results[f"swiglu {d}"] = A.swiglu(x, u)
    results[f"swiglu clamped {d}"] = A.swiglu(x, u, limit=7.0, up_offset=1.0)
    grad_gate, grad_up = A.swiglu_backward(g, x, u, 1.0, None, 0.0)
    results[f"swiglu_backward gate {d}"] = grad_gate
    results[f"swiglu_backward up {d}"] = grad_up
    results[f"geglu {d}"] = A.geglu(x, u)
    packed = torch.cat([x, u])[: 2 * 2050].view(2, 2050)
    for layout in ("gate_up", "interleaved"):
        results[f"swiglu_packed {layout} {d}"] = A.swiglu_packed(packed, -1, layout=layout)
        results[f"swiglu_packed_backward {layout} {d}"] = A.swiglu_packed_backward(
            g[:2050].view(2, 1025), packed, -1, layout, 1.0, None, 0.0
        )
    return results


CHILD = """
import sys
import torch
sys.path.insert(0, sys.argv[2])
import test_streaming
torch.save(test_streaming.compute(), sys.argv[1])
"""


@pytest.fixture(scope="module")
def streamed(tmp_path_factory):
    path = tmp_path_factory.mktemp("streaming") / "results.pt"
    env = dict(os.environ, ACTOPS_STREAM_BYTES="0")
    here = str(Path(__file__).resolve().parent)
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), here], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-4000:]
    return torch.load(path)


LIGHT = ("relu2", "trelu", "reglu")


def _same_bits(a, b, ulps=0):
    """Equal to `ulps` units in the last place (0: bitwise; signed zeros and
    signs told apart), NaN equal to any NaN: a NaN's sign and payload are not
    part of the result (the scalar and vector paths already differ in them)."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype not in BITS:  # a mask
        return torch.equal(a, b)
    if not torch.equal(a.isnan(), b.isnan()):
        return False
    keep = ~a.isnan()
    bits_a, bits_b = a[keep].view(BITS[a.dtype]).long(), b[keep].view(BITS[b.dtype]).long()
    return torch.equal(bits_a < 0, bits_b < 0) and bool(((bits_a - bits_b).abs() <= ulps).all())


def test_streaming_loops_match_the_plain_loops(streamed):
    plain = compute()
    assert streamed.keys() == plain.keys()
    differ = [name for name in plain if not _same_bits(streamed[name].contiguous(), plain[name].contiguous())]
    assert differ == []


def test_plain_and_streamed_results_are_the_formula(streamed):
    # the comparison above would pass with both loops wrong alike
    x = _inputs(torch.float32, 4099)
    expected = torch.where(torch.isnan(x), x, torch.clamp(x, min=0) ** 2)
    assert _same_bits(streamed["relu2 float32"], expected)
    u = _inputs(torch.float32, 4100)[1:]
    expected = torch.where(torch.isnan(x), x, torch.clamp(x, min=0)) * u
    torch.testing.assert_close(streamed["reglu float32"], expected, equal_nan=True, rtol=0, atol=0)
    finite = torch.isfinite(x)
    expected = torch.nn.functional.mish(x[finite].double()).float()
    torch.testing.assert_close(streamed["mish out+3 float32"][finite], expected, rtol=4e-7, atol=1e-38)
    both = finite & torch.isfinite(u)
    expected = (torch.nn.functional.silu(x[both].double()) * u[both].double()).float()
    torch.testing.assert_close(streamed["swiglu float32"][both], expected, rtol=4e-7, atol=1e-38)


@pytest.mark.parametrize("op", ["relu2", "trelu", "reglu", "mish", "swiglu"])
def test_a_call_over_the_threshold(op):
    # over the default thresholds, in this process: 16 MiB of float32 output
    # for the light formulas, 64 MiB for the others
    n = (1 << (22 if op in LIGHT else 24)) + 5
    x = _inputs(torch.float32, n)
    out = torch.zeros(n + 1)[1:]  # in memory (fresh pages take plain stores), misaligned
    unary = {"relu2": actops.relu2, "trelu": lambda t, **kw: actops.trelu(t, 0.5, 0.1, **kw), "mish": actops.mish}
    if op in unary:
        unary[op](x, out=out)
        pieces = [unary[op](c) for c in x.split(1 << 16)]
    else:
        glu = getattr(actops, op)
        u = x.flip(0)
        glu(x, u, out=out)
        pieces = [glu(c, d) for c, d in zip(x.split(1 << 16), u.split(1 << 16))]
    # out is misaligned: its head before the first cache line is a partial
    # vector, with the same bits
    assert _same_bits(out, torch.cat(pieces))


NEIGHBOURS = {
    "mish": lambda x, y: A.mish(x),
    "mish_backward": lambda x, y: A.mish_backward(y, x),
    "mish_double_backward": lambda x, y: A.mish_double_backward(y, x),
    "swish": lambda x, y: A.swish(x),
    "swish 1.7": lambda x, y: A.swish(x, 1.7),
    "swish_backward 1.7": lambda x, y: A.swish_backward(y, x, 1.7),
    "gelu": lambda x, y: A.gelu(x),
    "gelu_backward": lambda x, y: A.gelu_backward(y, x, "none"),
    "gelu tanh": lambda x, y: A.gelu(x, "tanh"),
    "gelu_backward tanh": lambda x, y: A.gelu_backward(y, x, "tanh"),
    "swiglu": lambda x, y: A.swiglu(x, y),
    "swiglu_backward": lambda x, y: torch.cat(A.swiglu_backward(y.flip(0), x, y, 1.0, None, 0.0)),
    "geglu": lambda x, y: A.geglu(x, y),
    "geglu_backward": lambda x, y: torch.cat(A.geglu_backward(y.flip(0), x, y, "none", None, 0.0)),
    "geglu tanh": lambda x, y: A.geglu(x, y, approximate="tanh"),
}


def _halfway():
    """float32 inputs at which exp's k = round(z log2 e) depends on whether
    the product z log2 e is rounded first (z = x, for mish and swish's exp(x)
    and exp(-|x|)) or a^2 log2(e) / 2 is (exact GELU's exp(-a^2 / 2)): where
    the two ways of reducing gave different bits."""
    f32 = lambda v: torch.tensor(v, dtype=torch.float32)  # noqa: E731
    log2e = f32(1.44269504088896341).double()
    c0 = f32(-0.721347520444481703).double()
    steps = torch.arange(-64, 65, dtype=torch.int32)
    found = []
    for n in range(-86, 28):  # exp(z), z in [-60, 20]
        z = (f32((n + 0.5) / log2e.item()).view(torch.int32) + steps).view(torch.float32)
        exact = z.double() * log2e
        found.append(z[exact.round() != exact.float().double().round()])
    for n in range(-92, 0):  # exp(-a^2 / 2), k = round(fl(a^2) c0)
        a = (f32(((n + 0.5) / c0.item()) ** 0.5).view(torch.int32) + steps).view(torch.float32)
        exact = (a.double() ** 2).float().double() * c0
        found.append(a[exact.round() != exact.float().double().round()])
    return torch.cat(found)


@pytest.mark.parametrize("name", NEIGHBOURS)
def test_a_lane_does_not_depend_on_its_neighbours(name):
    # A float vector with a lane in a deep tail (an exp argument below -64)
    # takes the formulas' exact exp, the others the fast one (eval_exact,
    # ops/math/common.h): every lane's reduction and arithmetic are the same
    # in both, so that an element's bits do not depend on which vector it
    # shares, nor on where a loop starts its vectors. Every 8th element is
    # made deep, which puts such a lane into every vector (8 or 16 lanes);
    # the others (random, and the inputs where two ways of rounding exp's
    # reduction part: _halfway) must not move.
    g = torch.Generator().manual_seed(5)
    x = torch.randn(4096, generator=g) * 4
    y = torch.randn(4096, generator=g)
    keep = torch.arange(4096) % 8 != 0
    halfway = _halfway()
    assert halfway.numel() > 50
    where = keep.nonzero().view(-1)
    x[where[: halfway.numel()]] = halfway
    x[where[halfway.numel() : 2 * halfway.numel()]] = -halfway
    deep = x.clone()
    deep[~keep] = -100.0
    f = NEIGHBOURS[name]
    plain, mixed = f(x, y).view(-1, 4096), f(deep, y).view(-1, 4096)
    assert _same_bits(plain[:, keep].contiguous(), mixed[:, keep].contiguous())
