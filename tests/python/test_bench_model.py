"""scripts/bench_model.py end to end: a --quick run prints the markdown table
and writes JSON of the expected shape (no timing assertions)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from conftest import positive, table_rows


ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "scripts" / "bench_model.py"
HEADER = (
    "| model | parameters | replaced | step ms unpatched | step ms patched | speed-up "
    "| saved MB unpatched / patched | peak MB unpatched / patched |"
)
MODELS = {
    "llama": "LlamaMLP -> actops.swiglu",
    "qwen3_moe": "Qwen3MoeExperts -> actops.swiglu",
    "mish_cnn": "Mish -> actops.nn.Mish",
}


def test_quick_run_prints_the_table_and_writes_json(tmp_path):
    out = tmp_path / "bench_model.json"
    command = [sys.executable, str(BENCH), "--quick", "--json", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"

    rows = table_rows(result.stdout, HEADER)
    assert [r[0] for r in rows] == list(MODELS), result.stdout
    for r in rows:
        assert len(r) == len(HEADER.strip("|").split("|")), r
        assert MODELS[r[0]] in r[2], r  # something was patched
        assert float(r[3]) > 0 and float(r[4]) > 0 and r[5].endswith("×"), r
        saved = [float(v) for v in r[6].split(" / ")]
        assert all(v > 0 for v in saved) and saved[1] <= saved[0], r  # never more saved than unpatched

    document = json.loads(out.read_text())
    env = document["environment"]
    for key in ("torch", "transformers", "cpu", "cpu_capability", "threads"):
        assert env[key], key
    assert env["quick"] is True and env["reps"] >= 1
    results = document["results"]
    assert [r["model"] for r in results] == list(MODELS)
    for r in results:
        assert r["parameters"] > 0 and positive(r["speedup"])
        for variant in ("unpatched", "patched"):
            step = r["step_s"][variant]
            assert positive(step["median"]) and len(step["all"]) == env["reps"]
            assert isinstance(r["saved_bytes"][variant], int) and r["saved_bytes"][variant] > 0
            # the step's peak holds at least what autograd saved
            assert isinstance(r["peak_bytes"][variant], int) and r["peak_bytes"][variant] >= r["saved_bytes"][variant]
        # the same weights and batch give the same loss patched and unpatched
        assert math.isclose(r["initial_loss"]["patched"], r["initial_loss"]["unpatched"], rel_tol=1e-4)
