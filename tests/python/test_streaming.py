"""Streaming stores: the large outputs of the light formulas (ReLU^2, TReLU,
ReGLU: math::is_light) are written around the caches, by map_multi's own loop
(ops/cpu/loops.h). That loop must give bitwise what the plain loops give, for
every layout its callers pass: a child process with ACTOPS_STREAM_BYTES=0
sends every call of these ops through it, and the results are compared with
this process's, where the same small calls take the plain loops."""

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
    strided and interleaved packed inputs, broadcast parameters, two outputs."""
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


def _same_bits(a, b):
    """Bitwise equal (signed zeros told apart), NaN equal to any NaN: a NaN's
    sign and payload are not part of the result (the scalar and vector paths
    already differ in them)."""
    if a.dtype != b.dtype or a.shape != b.shape or not torch.equal(a.isnan(), b.isnan()):
        return False
    keep = ~a.isnan()
    return torch.equal(a[keep].view(BITS[a.dtype]), b[keep].view(BITS[b.dtype]))


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


@pytest.mark.parametrize("op", ["relu2", "trelu", "reglu"])
def test_a_call_over_the_threshold(op):
    # 16 MiB of float32 output and more: the default threshold, in this process
    n = (1 << 22) + 5
    x = _inputs(torch.float32, n)
    out = torch.zeros(n + 1)[1:]  # in memory (fresh pages take plain stores), misaligned
    if op == "relu2":
        actops.relu2(x, out=out)
        pieces = [actops.relu2(c) for c in x.split(1 << 16)]
    elif op == "trelu":
        actops.trelu(x, 0.5, 0.1, out=out)
        pieces = [actops.trelu(c, 0.5, 0.1) for c in x.split(1 << 16)]
    else:
        u = x.flip(0)
        actops.reglu(x, u, out=out)
        pieces = [actops.reglu(c, d) for c, d in zip(x.split(1 << 16), u.split(1 << 16))]
    assert _same_bits(out, torch.cat(pieces))
