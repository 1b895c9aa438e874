"""scripts/plot_bench.py: the speed-ups it reads from bench.py's JSON result
(rows without one left out), the PNG it writes from a small synthetic result,
and bench.py's --plot drawing one after a quick run."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import plot_bench  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
OPS = ["mish", "swiglu"]
DTYPES = ["float32", "bfloat16"]
SIZES = [12, 16]
PASSES = ["fwd", "fwd+bwd"]


def _row(op, dtype, k, pass_, speedup):
    """A bench.py result row, reduced to what the plot reads (and the medians behind it)."""
    return {
        "op": op,
        "dtype": dtype,
        "n": 1 << k,
        "log2_n": k,
        "pass": pass_,
        "actops": {"median_s": 1e-3},
        "eager": {"median_s": speedup * 1e-3},
        "compiled": None,
        "speedup_vs_eager": speedup,
        "speedup_vs_compiled": None,
    }


def _document():
    rows = [
        _row(op, dtype, k, pass_, 1.0 + i / 4)
        for i, (op, dtype, k, pass_) in enumerate(itertools.product(OPS, DTYPES, SIZES, PASSES))
    ]
    return {
        "environment": {
            "cpu": "Test CPU",
            "cpu_capability": "AVX2",
            "threads": 2,
            "torch": "2.13.0",
            "device": "cpu",
            "argv": ["--quick", "--json", "out/b.json", "--plot", "out/b.png"],
        },
        "results": rows,
    }


def test_speedups_are_the_rows_ratios_by_dtype_pass_and_op():
    document = _document()
    # an actops error: no ratio, so no point
    document["results"][0]["actops"] = {"error": "RuntimeError: boom"}
    document["results"][0]["speedup_vs_eager"] = None
    # a row with the medians only: the ratio is computed from them
    del document["results"][1]["speedup_vs_eager"]

    series = plot_bench.speedups(document)
    assert set(series) == set(itertools.product(DTYPES, PASSES))
    for (dtype, pass_), by_op in series.items():
        assert set(by_op) == set(OPS)
        for op, points in by_op.items():
            expected = [
                (k, 1.0 + i / 4)
                for i, (o, d, k, p) in enumerate(itertools.product(OPS, DTYPES, SIZES, PASSES))
                if (o, d, p) == (op, dtype, pass_) and i != 0
            ]
            assert [k for k, _ in points] == [k for k, _ in expected]
            assert [v for _, v in points] == pytest.approx([v for _, v in expected])
    assert plot_bench.speedups(document, "compiled") == {}  # a --quick run measures no compiled peer


def test_plot_writes_a_png(tmp_path):
    out = tmp_path / "figures" / "speedups.png"  # its folder is created
    assert plot_bench.plot_results(_document(), out) == out
    data = out.read_bytes()
    assert data[:8] == PNG_MAGIC
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 300 and height > 300, (width, height)


def test_the_title_names_the_machine_and_the_flags_not_the_output_paths():
    title = plot_bench._title(_document()["environment"], "eager")
    assert "Test CPU, AVX2, 2 threads, torch 2.13.0" in title
    assert title.endswith("bench.py --quick"), title


def test_a_result_without_rows_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no results"):
        plot_bench.plot_results({"results": []}, tmp_path / "x.png")
    with pytest.raises(ValueError, match="peer"):
        plot_bench.speedups(_document(), "nope")


def test_bench_draws_the_figure_with_plot(tmp_path):
    out = tmp_path / "bench.png"
    command = [
        sys.executable,
        str(ROOT / "scripts" / "bench.py"),
        "--quick",
        "--ops",
        "mish",
        "--dtypes",
        "float32",
        "--sizes",
        "12",
        "--plot",
        str(out),
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    assert out.read_bytes()[:8] == PNG_MAGIC
    assert f"figure in {out}" in result.stderr
