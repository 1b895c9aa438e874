"""Shared fixtures and references for the actops test suite."""

from __future__ import annotations

import math
import os
import tempfile

import pytest
import torch

# Inductor's on-disk cache is shared by every checkout on a machine and keys
# graphs without the schemas of custom ops: a graph compiled against another
# build of libactops would be served here. Each run gets its own (subprocesses
# inherit it); TORCHINDUCTOR_CACHE_DIR set by the caller wins.
os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", tempfile.mkdtemp(prefix="actops-inductor-"))

import actops  # noqa: F401  (registers torch.ops.actops)

FLOAT_DTYPES = [torch.float32, torch.float64, torch.bfloat16, torch.float16]

# One unit in the last place at 1.0, per dtype: the tolerance unit below.
ULP = {dtype: torch.finfo(dtype).eps for dtype in FLOAT_DTYPES}


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def assert_close_ulps(
    actual: torch.Tensor, expected64: torch.Tensor, ulps: float, atol: float = 0.0, scale: torch.Tensor | None = None
):
    """|actual - expected| <= ulps * eps(dtype) * scale + atol, elementwise.

    scale defaults to max(|expected|, tiny): plain relative accuracy. For a
    function computed in the input's precision, pass |f(x)| + |x f'(x)|: the
    error that rounding the input (or any intermediate of x's size, like
    beta * x) by an ulp already causes, so the check is 'as exact as the
    dtype allows' also where f amplifies relative errors (exp-like tails)."""
    eps = torch.finfo(actual.dtype).eps
    tiny = torch.finfo(actual.dtype).tiny
    err = (actual.double() - expected64).abs()
    if scale is None:
        scale = expected64.abs()
    bound = ulps * eps * scale.clamp_min(tiny) + atol
    bad = ~(err <= bound)
    assert not bad.any(), (
        f"{int(bad.sum())} of {actual.numel()} values off by more than {ulps} ulp; "
        f"worst at x index {int((err / bound).nan_to_num(float('inf')).argmax())}: "
        f"got {actual.flatten()[(err / bound).argmax()].item()!r}, "
        f"expected {expected64.flatten()[(err / bound).argmax()].item()!r}"
    )


def positive(value) -> bool:
    """A finite number above 0 (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def table_rows(stdout: str, header: str) -> list[list[str]]:
    """The cells of the markdown table under `header` in a script's output."""
    lines = stdout.splitlines()
    assert header in lines, f"no results table header in:\n{stdout}"
    start = lines.index(header)
    assert lines[start + 1].startswith("|---"), lines[start + 1]
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def assert_passes_under_capability(capability: str, test_file: str, selection: str) -> None:
    """The tests of test_file matching `-k selection` pass in a subprocess whose
    kernels are chosen by ATEN_CPU_CAPABILITY=capability (DEFAULT, AVX2, ...)."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, ATEN_CPU_CAPABILITY=capability)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test_file, "-k", selection]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
