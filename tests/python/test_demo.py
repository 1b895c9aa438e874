"""The demo (``python -m actops.demo``) and the activation plots
(``scripts/plot_activations.py``), each run in a subprocess as a user runs
them, in their tiny modes. No timing assertions."""

from __future__ import annotations

import math
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import torch

import actops
import actops.demo
from actops import registry

ROOT = Path(__file__).resolve().parents[2]
PLOT_SCRIPT = ROOT / "scripts" / "plot_activations.py"

# The fast tests use a few activations; the "every" tests all of them.
DEMO_ACTIVATIONS = ["sigmoid", "tanh", "relu", "mish"]
PLOT_OPS = ["mish"]
EVERY_OP = list(registry.names())
EVERY_LAYER = [name for entry in registry.OPS for name in entry.modules]

NUMERIC_COLUMNS = ["params", "loss", "train%", "test%", "ms/epoch", "|dW1|", "dW1/dWL", "dead%"]
PNGS = ["loss_curves.png", "grad_norms.png", "decision_regions.png"]


def test_every_op_and_layer_is_built():
    assert len(EVERY_OP) >= 9 and len(EVERY_LAYER) >= 9
    assert all(hasattr(torch.ops.actops, op) for op in EVERY_OP)
    assert all(hasattr(actops.nn, name) for name in EVERY_LAYER)
    assert sorted(EVERY_LAYER) == sorted(actops.nn.__all__)


def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def assert_valid_png(path: Path) -> None:
    """A PNG signature, then well-formed chunks with correct CRCs from IHDR
    (with a non-empty image) to IEND, with image data in between."""
    assert path.is_file(), f"{path} was not written"
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    offset, kinds = 8, []
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"{path}: bad CRC in chunk {kind!r}"
        kinds.append(kind)
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
            assert width > 100 and height > 100, f"{path}: image is {width} x {height}"
        offset += 12 + length
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds, f"{path}: chunks {kinds}"


def table_rows(stdout: str) -> dict[str, dict[str, float]]:
    """The demo's table: the header line, then one row per activation up to a blank line."""
    lines = stdout.splitlines()
    header = [i for i, line in enumerate(lines) if line.split()[:1] == ["activation"]]
    assert len(header) == 1, f"no single table header in:\n{stdout}"
    assert lines[header[0]].split()[1 : 1 + len(NUMERIC_COLUMNS)] == NUMERIC_COLUMNS
    rows = {}
    for line in lines[header[0] + 1 :]:
        if not line.strip():
            break
        name, *fields = line.split()
        rows[name] = dict(zip(NUMERIC_COLUMNS, map(float, fields[: len(NUMERIC_COLUMNS)])))
    return rows


def check_demo(activations: list[str], out: Path) -> dict[str, dict[str, float]]:
    result = run("-m", "actops.demo", "--fast", "--activations", ",".join(activations), "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    rows = table_rows(result.stdout)
    assert list(rows) == activations
    for name, row in rows.items():
        assert row["params"] > 0 and row["params"] == int(row["params"]), (name, row)
        for column in ("train%", "test%", "dead%"):
            assert 0.0 <= row[column] <= 100.0, (name, column, row)
        assert row["ms/epoch"] > 0, (name, row)
        if name != "swiglu_plain":  # the plain SwiGLU stack is there to show that it collapses
            assert math.isfinite(row["loss"]) and row["loss"] > 0, (name, row)
        assert math.isfinite(row["|dW1|"]) and row["|dW1|"] >= 0, (name, row)
    assert "gradcheck + gradgradcheck (float64): mish ok" in result.stdout
    checked = result.stdout.split("gradcheck + gradgradcheck (float64): ")[1].splitlines()[0]
    assert checked == ", ".join(f"{op} ok" for op in EVERY_OP), checked
    assert "FAILED" not in result.stdout
    assert "100%" in result.stderr  # the progress bar ran to the end
    for png in PNGS:
        assert_valid_png(out / png)
    return rows


def test_demo_fast(tmp_path):
    rows = check_demo(DEMO_ACTIVATIONS, tmp_path / "demo")
    assert rows["relu"]["params"] == rows["mish"]["params"]  # the same MLP, only the activation differs


def test_demo_fast_every_activation(tmp_path):
    rows = check_demo(list(actops.demo.ACTIVATIONS), tmp_path / "demo")
    assert rows["swish_learnable"]["params"] > rows["swish"]["params"]  # a beta per channel and layer


def test_demo_rejects_unknown_activation(tmp_path, capsys):
    with pytest.raises(SystemExit) as error:
        actops.demo.main(["--fast", "--activations", "relu,softsign", "--out", str(tmp_path)])
    assert error.value.code == 2
    stderr = capsys.readouterr().err
    assert "softsign" in stderr and "choose from" in stderr


def test_plot_activations(tmp_path):
    out = tmp_path / "activations.png"
    result = run(str(PLOT_SCRIPT), "--ops", ",".join(PLOT_OPS), "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert_valid_png(out)


def test_plot_activations_every_op(tmp_path):
    result = run(str(PLOT_SCRIPT), "--out", str(tmp_path))  # a folder: writes activations.png in it
    assert result.returncode == 0, result.stdout + result.stderr
    assert_valid_png(tmp_path / "activations.png")


def test_plot_activations_rejects_unknown_op(tmp_path):
    result = run(str(PLOT_SCRIPT), "--ops", "mish,softsign", "--out", str(tmp_path / "a.png"))
    assert result.returncode == 2 and "softsign" in result.stderr
