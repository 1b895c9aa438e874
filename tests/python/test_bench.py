"""scripts/bench.py end to end: a quick run of mish prints the markdown table
and writes JSON of the expected shape (no timing assertions); a quick run of
every op has the out= column on every forward row, and actops' out= form
writes the allocating call's result; --thp measures in a child process with
PyTorch's huge-page switch set."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

from actops import registry
from conftest import positive, table_rows

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "scripts" / "bench.py"

OPS = ["mish"]
DTYPES = ["float32", "bfloat16"]
SIZES = [12, 16]  # --quick's exponents
PASSES = ["fwd", "fwd+bwd"]
HEADER = (
    "| op | dtype | n | pass | actops ms | GB/s | % copy | vs eager | vs compiled "
    "| out= ms | out= % copy | out= vs eager out= | saved MB actops / eager |"
)
# the rows bench.py draws by hand (forms and settings of their own), and a row per op of the registry
EVERY = [
    "mish",
    "relu2",
    "swish",
    "swish_learnable",
    "gelu",
    "gelu_tanh",
    "trelu",
    "swiglu",
    "swiglu_packed",
    "geglu",
    "geglu_tanh",
    "reglu",
    "swiglu_gptoss",
    "maxout",
]
EVERY += [name for name in registry.names() if name not in EVERY]
# the ops whose peer PyTorch has as one op with an out= form (aten.mish.out, aten.silu.out,
# aten.gelu.out both ways, torch.amax(..., out=)); the others' peers are composites
PEER_OUT = {"mish", "swish", "gelu", "gelu_tanh", "maxout"}


def test_quick_run_prints_the_table_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    # --compile: the torch.compile peers too (--quick leaves them out by default)
    command = [sys.executable, str(BENCH), "--quick", "--compile", "--ops", *OPS, "--json", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"

    expected = set(itertools.product(OPS, DTYPES, SIZES, PASSES))
    rows = table_rows(result.stdout, HEADER)
    assert len(rows) == len(expected), result.stdout
    assert {(r[0], r[1], int(r[2].removeprefix("2^")), r[3]) for r in rows} == expected
    for r in rows:
        assert len(r) == len(HEADER.strip("|").split("|")), r
        assert float(r[4]) > 0 and float(r[5]) > 0, r  # actops ms, GB/s
        assert r[7].endswith("×") and r[8].endswith("×"), r  # vs eager, vs compiled
        if r[3] == "fwd":  # out= ms, out= % copy, out= vs aten.mish.out
            assert float(r[9]) > 0 and float(r[10]) > 0 and float(r[11].removesuffix("×")) > 0, r
        else:  # no autograd through out=: the backward rows leave the out= cells empty
            assert r[9:12] == ["–", "–", "–"], r

    document = json.loads(out.read_text())
    assert set(document) >= {"environment", "ops", "results"}
    env = document["environment"]
    for key in ("torch", "cpu", "cpu_capability", "threads", "device", "measurement"):
        assert env[key], key
    assert env["thp_mem_alloc"] is (os.environ.get("THP_MEM_ALLOC_ENABLE") == "1")
    assert env["device"] == "cpu" and env["threads"] >= 1 and env["quick"] is True
    assert set(document["ops"]) == set(OPS)

    results = document["results"]
    assert len(results) == len(expected)
    assert {(r["op"], r["dtype"], r["log2_n"], r["pass"]) for r in results} == expected
    for r in results:
        assert r["n"] == 2 ** r["log2_n"]
        assert isinstance(r["ideal_bytes"], int) and r["ideal_bytes"] > 0
        for who in ("actops", "eager", "compiled", "copy"):
            assert "error" not in r[who], (who, r[who])
            assert positive(r[who]["median_s"]), (who, r[who])
            assert positive(r[who]["gbps"]), (who, r[who])
            assert r[who]["replicates"] >= 1
        assert r["compiled"]["compile_s"] >= 0 and positive(r["compiled"]["first_call_s"])
        assert positive(r["pct_copy"]) and positive(r["speedup_vs_eager"]) and positive(r["speedup_vs_compiled"])
        if r["pass"] == "fwd":
            for who in ("actops_out", "eager_out"):
                assert "error" not in r[who], (who, r[who])
                assert positive(r[who]["median_s"]) and positive(r[who]["gbps"]), (who, r[who])
            assert r["eager_out"]["name"] == "aten.mish.out(x, out=y)"
            assert positive(r["pct_copy_out"]) and positive(r["speedup_out_vs_eager_out"]), r
        else:
            assert r["actops_out"] is None and r["eager_out"] is None, r
            assert r["pct_copy_out"] is None and r["speedup_out_vs_eager_out"] is None, r
        assert r["out_max_abs_diff_vs_allocating"] == 0, r  # mish(x, out=y) writes mish(x)
        for who in ("actops", "eager"):
            assert isinstance(r["saved_bytes"][who], int) and r["saved_bytes"][who] > 0
    # n in the table is the number of output elements; mish's output is its input's shape
    assert all(r["output_shape"] == [r["n"]] for r in results)


def test_quick_run_covers_every_op(tmp_path):
    out = tmp_path / "bench.json"
    command = [sys.executable, str(BENCH), "--quick", "--sizes", "12", "--dtypes", "float32", "--json", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    rows = table_rows(result.stdout, HEADER)
    assert {(r[0], r[3]) for r in rows} == set(itertools.product(EVERY, PASSES)), result.stdout
    for r in rows:
        assert len(r) == len(HEADER.strip("|").split("|")), r
        assert float(r[4]) > 0, r
        if r[3] == "fwd":  # every op has an out= form: its time and % copy
            assert float(r[9]) > 0 and float(r[10]) > 0, r
            if r[0] in PEER_OUT:
                assert float(r[11].removesuffix("×")) > 0 and r[11].endswith("×"), r
            else:
                assert r[11] == "–", r
        else:
            assert r[9:12] == ["–", "–", "–"], r
        actops_mb, eager_mb = (float(v) for v in r[12].split(" / "))
        assert actops_mb <= eager_mb, r  # never more activation memory than the composite

    results = json.loads(out.read_text())["results"]
    assert {(r["op"], r["pass"]) for r in results} == set(itertools.product(EVERY, PASSES))
    for r in results:
        # actops' out= form writes exactly what the allocating call returns, for every op
        assert r["out_max_abs_diff_vs_allocating"] == 0, r
        if r["pass"] == "fwd":
            assert "error" not in r["actops_out"] and positive(r["actops_out"]["median_s"]), r
            assert positive(r["pct_copy_out"]), r
            if r["op"] in PEER_OUT:
                assert "error" not in r["eager_out"] and positive(r["speedup_out_vs_eager_out"]), r
            else:
                assert r["eager_out"] is None and r["speedup_out_vs_eager_out"] is None, r


def test_thp_flag_runs_the_benchmark_with_pytorchs_huge_pages(tmp_path):
    out = tmp_path / "bench.json"
    command = [sys.executable, str(BENCH), "--quick", "--thp", "--ops", "mish", "--sizes", "12"]
    command += ["--dtypes", "float32", "--json", str(out)]
    env = {k: v for k, v in os.environ.items() if k != "THP_MEM_ALLOC_ENABLE"}
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600, env=env)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    environment = json.loads(out.read_text())["environment"]
    # the child that measured had the switch, and the header says so
    assert environment["thp_mem_alloc"] is True
    assert "huge pages: THP_MEM_ALLOC_ENABLE=1" in result.stdout
    assert len(table_rows(result.stdout, HEADER)) == 2
