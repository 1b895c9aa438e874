"""scripts/accuracy.py: the quick accuracy table holds actops within the bounds
the tests hold (test_elementwise.py, test_exactness.py) for every op of the
registry, pass and dtype, and its measurements can fail."""

from __future__ import annotations

import dataclasses
import functools
import json
import subprocess
import sys
from pathlib import Path

import mpmath
import pytest
import torch

import actops
from actops import registry
from conftest import table_rows

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import accuracy  # noqa: E402

HEADER = "| " + " | ".join(accuracy.HEADER) + " |"


@functools.lru_cache(maxsize=None)
def quick_rows(op: str, dtype: str) -> tuple:
    return tuple(accuracy.measure(accuracy.OPS[op], accuracy.DTYPES[dtype], quick=True))


def test_every_op_of_the_registry_has_rows():
    assert {accuracy._entry_of(name) for name in accuracy.OPS} == set(registry.names())


@pytest.mark.parametrize(
    "op, dtype",
    [pytest.param(op, dtype, id=f"{op}-{dtype}") for op in accuracy.OPS for dtype in accuracy.OPS[op].dtypes],
)
def test_actops_within_bounds(op, dtype):
    rows = quick_rows(op, dtype)
    assert [row["pass"] for row in rows] == list(accuracy.OPS[op].passes)
    for row in rows:
        for library in ("actops", "torch"):
            assert row["points"] > 0 and "error" not in row[library], row
            assert row[library]["p_raw"] <= row[library]["max_raw"], row
            # conditioning only ever excuses error: conditioned <= raw
            assert row[library]["p_cond"] <= row[library]["max_cond"] <= row[library]["max_raw"] * (1 + 1e-9), row
    assert not accuracy.failures(rows), "\n".join(accuracy.failures(rows))


def measure_with(op: str, dtype: torch.dtype, impl) -> dict:
    """The rows of `op` with `impl` measured in actops' place, by pass."""
    rows = accuracy.measure(dataclasses.replace(accuracy.OPS[op], actops=impl), dtype, quick=True)
    return {row["pass"]: row for row in rows}


def test_checker_flags_a_result_a_few_ulps_off():
    # relu2 (x^2, 2x) is exact today; scaled by 1 - 32 eps it is 32 to 64 ulps off wherever it is normal
    eps = torch.finfo(torch.float32).eps
    rows = measure_with("relu2", torch.float32, lambda x: actops.relu2(x) * (1 - 32 * eps))
    for pass_ in ("fwd", "d/dx"):  # the derivative of c relu2 is c relu2'
        row = rows[pass_]
        assert not row["ok"] and 31.5 <= row["actops"]["max_raw"] <= 64.5 and row["actops"]["max_cond"] > 4, row
        assert row["torch"]["max_raw"] <= 0.5, row
        assert accuracy.failures([row])[0].startswith(f"relu2 {pass_} float32: max ")


def test_checker_counts_spurious_zeros():
    # F.gelu returns 0 below about -6 in float32, where the truth is a normal float (1e-10 at -6.5)
    rows = measure_with("gelu", torch.float32, torch.nn.functional.gelu)
    assert rows["fwd"]["actops"]["spurious"] > 100 and not rows["fwd"]["ok"]


def test_checker_flags_a_nan_limit():
    # x * sigmoid(x) at x = -inf is -inf * 0: NaN, where the limit is 0
    rows = measure_with("swish", torch.float64, lambda x: x * torch.sigmoid(x))
    assert rows["fwd"]["actops"]["max_raw"] == float("inf") and not rows["fwd"]["ok"]


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16], ids=str)
def test_a_correctly_rounded_result_is_within_half_an_ulp(dtype):
    def rounded(x):  # the float64 reference itself (and the limits at +-inf), rounded once to the dtype
        x = x.double()
        return torch.where(x.isinf(), x.clamp_min(0), accuracy.mish64(x)).to(dtype)

    row = measure_with("mish", dtype, rounded)["fwd"]
    # (torch converts float64 to float16 through float32: 2^-13 ulp more at most)
    assert 0.45 < row["actops"]["max_raw"] <= 0.5 + 2**-12 and row["actops"]["spurious"] == 0, row


def test_float64_rounding_is_measured_against_50_digits():
    # x * x is correctly rounded in IEEE arithmetic: at most half an ulp from the mpmath value
    row = quick_rows("relu2", "float64")[0]
    for library in ("actops", "torch"):
        assert 0.3 < row[library]["max_raw"] <= 0.5, row


# the activations of the unary rows that have a 50-digit reference
EXACT = sorted({op.activation.name for op in accuracy.OPS.values() if op.kind == "unary" and op.activation.exact})


@pytest.mark.parametrize("name", EXACT)
def test_float64_reference_agrees_with_mpmath(name):
    """The float64 references the narrower dtypes are measured against are exact to far below
    their ulp: within 64 conditioned float64 ulps (2^-46) of 50 digits wherever a float32
    value can be nonzero (|x| < 130, float64 results above its subnormals)."""
    op = next(op for op in accuracy.OPS.values() if op.kind == "unary" and op.activation.name == name)
    x = accuracy.grid(torch.float64, quick=True)
    x = x[x.abs() < 130]  # and NaN left out
    approximate = accuracy.reference64(op, (x,))
    exact = accuracy.exact_reference(op, (x,))
    for pass_ in op.passes:
        hi, frac, scale, measured = exact[pass_]
        measured &= (hi.abs() > 1e-300) | (hi == 0)  # float64's own subnormals: no float32 value there
        raw, cond, spurious = accuracy.ulp_errors(approximate[pass_][0], hi, frac, scale, measured)
        assert cond.max() <= 64 and not spurious.any(), (pass_, x[cond.argmax()].item(), cond.max().item())


@pytest.mark.parametrize("name", [name for name, act in accuracy.ACTIVATIONS.items() if act.second])
def test_second_derivative_closed_forms_are_the_derivative_of_the_first(name):
    act = accuracy.ACTIVATIONS[name]
    with mpmath.workdps(80):
        for x in (-30.5, -7.25, -1.19, -0.3, 0.0, 0.7, 2.5, 6.0):
            x = mpmath.mpf(x)
            numeric = mpmath.diff(lambda t: act.exact(t)[1], x)
            assert abs(numeric - act.second(x, accuracy.MP)) <= 1e-60 * abs(numeric), (name, x)


def test_grid_reaches_the_edges():
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        x = accuracy.grid(dtype, quick=True)
        info = torch.finfo(dtype)
        for value in (info.max, -info.max, float("inf"), float("-inf"), accuracy.smallest_subnormal(dtype), info.tiny):
            assert (x == value).any(), (dtype, value)
        assert x.isnan().sum() == 1 and (x.abs() < info.tiny).sum() > 2
    assert accuracy.grid(torch.float16, quick=False).numel() == 2**16 - 2**11 + 2 + 1  # every value, NaN once


def test_command_line_prints_the_table_writes_json_and_checks(tmp_path):
    out = tmp_path / "accuracy.json"
    command = [
        sys.executable,
        str(ROOT / "scripts" / "accuracy.py"),
        "--quick",
        "--ops",
        "relu2",
        "maxout",
        "mish",
        "--dtypes",
        "float32",
        "float64",
        "--markdown",
        "--json",
        str(out),
        "--check",
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode in (0, 1), f"{command} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    rows = table_rows(result.stdout, HEADER)
    expected = {(op, p, d) for op in ("relu2", "maxout") for p in ("fwd", "d/dx") for d in ("float32", "float64")}
    expected |= {("mish", p, d) for p in ("fwd", "d/dx", "d2/dx2") for d in ("float32", "float64")}
    assert {(r[0], r[1], r[2]) for r in rows} == expected
    assert all(len(r) == len(accuracy.HEADER) for r in rows), rows
    assert all(r[3].endswith("✓") for r in rows if r[0] != "mish"), rows
    document = json.loads(out.read_text(), parse_constant=pytest.fail)  # strict JSON: no Infinity, no NaN
    assert document["environment"]["quick"] is True and document["environment"]["digits"] == 50
    assert {(r["op"], r["pass"], r["dtype"]) for r in document["rows"]} == expected
    # --check: exit status 1 exactly when a row is over its bound, each such row listed
    over = [f"{r['op']} {r['pass']} {r['dtype']}:" for r in document["rows"] if not r["ok"]]
    assert result.returncode == (1 if over else 0), result.stderr
    assert all(line in result.stderr for line in over), result.stderr
