"""Streaming stores: large outputs are written around the caches, by
map_multi's own loop (ops/cpu/loops.h), from 16 MiB on for the light formulas
(ReLU^2, TReLU, ReGLU: math::is_light) and from 64 MiB on for the others, in
float32 (their other dtypes are bound by arithmetic, and keep plain stores).
That loop must give what the plain loops give (bitwise for the light
formulas, to an ulp for the others: see _ulps), for every layout its callers
pass: a child process with ACTOPS_STREAM_BYTES=0 sends every call of every
formula through it, and the results are compared with this process's, where
the same small calls take the plain loops."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import actops

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


def _ulps(name):
    """How far apart the two loops may be: 0 (bitwise) for the light
    formulas. A heavy one's element may differ by an ulp: the streaming loop
    starts its vectors at a cache line, not at the row's first element, and a
    float vector's exp is chosen per vector (FastExp where no lane is deep:
    ops/math/common.h, eval_exact), so an element's last bit can depend on
    which neighbours share its vector, in either loop; and the scalar head
    runs the scalar formula."""
    return 0 if name.startswith(LIGHT) else 1


def _same_bits(a, b, ulps=0):
    """Equal to `ulps` units in the last place (0: bitwise; signed zeros and
    signs told apart), NaN equal to any NaN: a NaN's sign and payload are not
    part of the result (the scalar and vector paths already differ in them)."""
    if a.dtype != b.dtype or a.shape != b.shape or not torch.equal(a.isnan(), b.isnan()):
        return False
    keep = ~a.isnan()
    bits_a, bits_b = a[keep].view(BITS[a.dtype]).long(), b[keep].view(BITS[b.dtype]).long()
    return torch.equal(bits_a < 0, bits_b < 0) and bool(((bits_a - bits_b).abs() <= ulps).all())


def test_streaming_loops_match_the_plain_loops(streamed):
    plain = compute()
    assert streamed.keys() == plain.keys()
    differ = [
        name for name in plain if not _same_bits(streamed[name].contiguous(), plain[name].contiguous(), _ulps(name))
    ]
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
    assert _same_bits(out, torch.cat(pieces), _ulps(op))
