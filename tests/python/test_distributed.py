"""actops on PyTorch's distributed engine: the DTensor sharding rules of every
op (actops/_sharding.py), tensor parallelism, FSDP2 and the examples of
docs/distributed.md.

One launch of 2 CPU processes (tests/python/dist_worker.py) runs every
suite of checks, each in its own gloo process group on its own free
loopback port, opened before the suite and closed after it; each compares
against the same computation on full tensors in one process and saves what
it found, and the tests below read both ranks' findings. One launch for all:
starting a process and importing torch is most of the cost.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, Dict, List

import pytest
import torch

import actops
from actops import registry

WORKER = Path(__file__).with_name("dist_worker.py")
WORLD_SIZE = 2
# float64 throughout: element-wise results are the same on a shard; sums
# (a parameter's gradient, a matmul) differ only in their order
TOL = 1e-12
TRAINING_TOL = 1e-10

pytestmark = pytest.mark.skipif(
    not (torch.distributed.is_available() and torch.distributed.is_gloo_available()),
    reason="this torch build has no torch.distributed with the gloo backend",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SUITES = ("ops", "tp", "fsdp", "docs")


def launch(tmp_path: Path, retried: bool = False) -> Dict[str, List[List[Dict[str, Any]]]]:
    """Every suite's findings, per rank, from one launch of the workers."""
    ports = {suite: free_port() for suite in SUITES}
    # the workers import the actops this test imported (an editable install,
    # or a checkout on sys.path)
    path = [str(Path(actops.__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p)}
    suites = [f"{suite}:{port}" for suite, port in ports.items()]
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(rank), str(WORLD_SIZE), str(tmp_path), *suites],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        for rank in range(WORLD_SIZE)
    ]
    logs = []
    for proc in procs:
        try:
            logs.append(proc.communicate(timeout=300)[0])
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            raise
    for proc, log in zip(procs, logs):
        if proc.returncode < 0 and not retried:
            # a worker killed by a signal: gloo's threads once aborted a worker
            # at a full suite's load ('terminate called without an active
            # exception'); launched once more, and said so. A failed check is
            # not retried (its worker exits 0 with the error in its results).
            warnings.warn(f"dist_worker.py died by signal {-proc.returncode}; launched again:\n{log[-2000:]}")
            return launch(tmp_path, retried=True)
        assert proc.returncode == 0, f"dist_worker.py failed:\n{log[-6000:]}"
    return {
        suite: [torch.load(tmp_path / f"{suite}-{rank}.pt", weights_only=False) for rank in range(WORLD_SIZE)]
        for suite in SUITES
    }


@pytest.fixture(scope="module")
def found(tmp_path_factory) -> Dict[str, List[List[Dict[str, Any]]]]:
    return launch(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def ops_results(found) -> List[List[Dict[str, Any]]]:
    return found["ops"]


def failures(ranks: List[List[Dict[str, Any]]], tol: float) -> List[str]:
    """Every check of every rank that raised or differs by more than tol."""
    found = []
    for rank, checks in enumerate(ranks):
        for check in checks:
            if "error" in check:
                found.append(f"rank {rank} {check['name']}: {check['error']}")
                continue
            bad = {k: v for k, v in check.get("errors", {}).items() if not v <= tol}
            if bad:
                found.append(f"rank {rank} {check['name']}: {bad}")
            expected = check.get("expected_out")
            if expected is not None and tuple(check["placements"]["out"]) != tuple(expected):
                found.append(f"rank {rank} {check['name']}: output placed {check['placements']['out']}, not {expected}")
    return found


def by_name(ranks, name: str) -> List[Dict[str, Any]]:
    found = [check for checks in ranks for check in checks if check["name"] == name]
    assert len(found) == len(ranks), f"no check {name!r} on every rank"
    return found


def test_every_op_on_dtensors_equals_the_full_tensor_result(ops_results):
    """Forward, backward and double backward of every op, every form, on
    Shard(0), Shard(-1) and Replicate: the full-tensor result, with the
    output placed as the rule of its kind says (element-wise ops keep x's
    placement; a packed or grouped op sharded along its own dim keeps it only
    where each shard holds whole groups, and is replicated otherwise)."""
    assert failures(ops_results, TOL) == []
    for checks in ops_results:
        covered = {(check.get("op"), check.get("placement")) for check in checks}
        for entry in registry.OPS:
            for placement in ("S(0)", "S(-1)", "R"):
                assert (entry.name, placement) in covered
    # the one case DTensor's own view rule refuses: documented, and
    # asserted so that a DTensor that accepts it shows up here
    refused = [check for checks in ops_results for check in checks if "double_backward_refused" in check]
    assert {check["name"] for check in refused} == {
        f"{entry}[packed interleaved, odd shards] S(-1)" for entry in registry.names("gated")
    }
    assert all("redistribut" in check["double_backward_refused"] for check in refused)


def test_parameter_gradients_are_partial_when_replicated_and_sharded_with_x(ops_results):
    """A learnable β or α replicated while x is sharded on the batch dim: its
    gradient is a Partial sum, equal to the single-process one; per channel
    with x sharded along the channels, it is sharded the same way."""
    for entry in registry.names("parametric"):
        learnable = registry.get(entry).learnable
        for check in by_name(ops_results, f"{entry}[{learnable} per channel] S(0)"):
            assert all(p.is_partial() for p in check["placements"][f"grad_{learnable}"])
            assert check["errors"][f"grad_{learnable}"] <= TOL
        for check in by_name(ops_results, f"{entry}[{learnable} per channel] S(-1)"):
            assert [str(p) for p in check["placements"][f"grad_{learnable}"]] == ["S(0)"]
        for check in by_name(ops_results, f"{entry} parameter sharded with x"):
            placed = {k: [str(p) for p in v] for k, v in check["grad_placements"].items()}
            assert placed == {
                f"x S(0), {learnable} R": ["P(sum)"],
                f"x S(1), {learnable} S(0)": ["S(0)"],
                f"x S(1), {learnable} R": ["S(0)"],
            }
            assert all(v <= TOL for v in check["errors"].values()), check


def test_gated_split_broadcast_up_gradient_is_summed(ops_results):
    for entry in registry.names("gated"):
        for check in by_name(ops_results, f"{entry}[split, up broadcast] S(0)"):
            assert [str(p) for p in check["placements"]["out"]] == ["S(0)"]
            assert all(p.is_partial() for p in check["placements"]["grad_up"])


def test_packed_layouts_sharded_along_dim(ops_results):
    """interleaved keeps Shard(dim) (each shard holds whole pairs), the other
    layouts are gathered first, also right after an interleaved call on the
    same placement (DTensor's cache does not key on the layout)."""
    for entry in registry.names("gated"):
        for check in by_name(ops_results, f"{entry}[packed dim=-1 interleaved] S(-1)"):
            assert [str(p) for p in check["placements"]["out"]] == ["S(1)"]
            assert [str(p) for p in check["placements"]["grad_x"]] == ["S(1)"]
        for layout in ("gate_up", "up_gate"):
            for check in by_name(ops_results, f"{entry}[packed dim=-1 {layout}] S(-1)"):
                assert [str(p) for p in check["placements"]["out"]] == ["R"]
        for check in by_name(ops_results, f"{entry}[packed interleaved, odd shards] S(-1)"):
            assert [str(p) for p in check["placements"]["out"]] == ["R"]


def test_out_and_inplace_forms_on_dtensors(ops_results):
    """out= writes into a DTensor placed as the result, or replicated (x
    gathered), keeps out's placement and returns out; a Partial out, which no
    sharding of the op gives, is refused with an error. The in-place ops
    overwrite x's local shard and return x, on every placement; trelu_ with a
    gradient too (its mask); a Partial x is refused."""
    out_checks = [check for checks in ops_results for check in checks if check.get("form") == "out"]
    assert {check["op"] for check in out_checks} == set(registry.names())
    for check in out_checks:
        assert "error" not in check, check
        assert check["refused"] != "accepted", check["name"]
    inplace = [check for checks in ops_results for check in checks if " in place " in check["name"]]
    assert {check["name"].split("_ ")[0] for check in inplace} == {
        entry.name for entry in registry.OPS if entry.inplace_op
    }
    for check in by_name(ops_results, "mish_ on a Partial x"):
        assert check["refused"] != "accepted"


def test_partial_inputs_are_reduced_first(ops_results):
    checks = [check for checks in ops_results for check in checks if check["name"].endswith("Partial input")]
    assert len(checks) == WORLD_SIZE * len(registry.names("unary", "grouped"))
    assert failures([checks], TOL) == []


def test_tensor_parallel_blocks_train_as_one_process(found):
    """LlamaMLP (gate and up ColwiseParallel, down RowwiseParallel) around
    actops.swiglu, and a block with one interleaved gate_up projection sharded
    on its last dim: 3 SGD steps equal one process's, the activation stays
    sharded (no gather of the hidden layer)."""
    ranks = found["tp"]
    assert failures(ranks, TRAINING_TOL) == []
    for name in ("LlamaMLP swiglu", "packed interleaved gate_up"):
        for check in by_name(ranks, name):
            assert [str(p) for p in check["activation"]] == ["S(2)"], check["activation"]
            assert check["losses"][-1] < check["losses"][0]


def test_fsdp2_trains_as_one_process(found):
    """fully_shard over learnable Swish, learnable TReLU and SwiGLU layers:
    3 AdamW steps on half the batch per rank equal one process's on the
    whole batch."""
    ranks = found["fsdp"]
    assert failures(ranks, TRAINING_TOL) == []
    for check in by_name(ranks, "fully_shard Swish, TReLU, SwiGLU"):
        assert check["moved"] > 1e-3
        assert all(any(p.is_shard() for p in placements) for placements in check["sharded"].values())


def test_docs_examples_run_on_two_processes(found):
    """Every Python block of docs/distributed.md, in order, as torchrun would
    run the page on 2 processes (its own asserts included)."""
    sys.path.insert(0, str(WORKER.parent))
    import dist_worker

    blocks = dist_worker.doc_blocks()
    assert len(blocks) >= 7  # set-up, DTensor (3), TP (2), FSDP2, local_map
    ranks = found["docs"]
    assert failures(ranks, 0.0) == []
    assert [len(checks) for checks in ranks] == [len(blocks)] * WORLD_SIZE


# ---- in this process: the kinds and rules read from the schemas -----------------------------


def test_every_op_and_overload_has_a_rule_registered_when_dtensor_is_imported():
    """import actops does not import DTensor (half a second), yet every
    overload of every op with a tensor argument has its rule once DTensor is
    imported, in either order; each in a fresh interpreter."""
    check = r"""
import sys, torch
{first}
from actops import _sharding
expected = {{
    str(getattr(getattr(torch.ops.actops, n.split("::")[1].split(".")[0]), (n.split(".") + ["default"])[1]))
    for n in torch._C._dispatch_get_all_op_names()
    if n.startswith("actops::") and not n.startswith("actops::cpu_capability")
}}
{then}
assert set(_sharding.registered_ops()) == expected, expected ^ set(_sharding.registered_ops())
print(len(expected))
"""
    orders = {
        "actops first": (
            "import actops\nassert 'torch.distributed.tensor' not in sys.modules\n",
            "assert _sharding.registered_ops() == ()\nimport torch.distributed.tensor",
        ),
        "DTensor first": ("import torch.distributed.tensor\nimport actops", ""),
    }
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-c", check.format(first=first, then=then)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, (first, then) in orders.items()
    }
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"{name}:\n{stderr[-3000:]}"
        assert int(stdout.split()[-1]) >= 60, name


def _spec(shape, placements=None, mesh_shape=(2,)):
    """What a rule receives for a tensor (DTensor's spec): its shape, mesh and placements."""
    from types import SimpleNamespace

    from torch.distributed.tensor import Replicate

    return SimpleNamespace(
        shape=torch.Size(shape),
        mesh=SimpleNamespace(shape=mesh_shape),
        placements=tuple(placements or [Replicate()] * len(mesh_shape)),
    )


def _strategies(op: str, *args, **kwargs):
    from actops import _sharding

    overload = getattr(torch.ops.actops, op).default
    return [(list(outs), list(ins)) for outs, ins in _sharding._make_rule(overload)(*args, **kwargs)]


def test_kinds_read_from_the_schemas():
    from actops._sharding import sharding_kind

    def kind(op):
        return sharding_kind(getattr(torch.ops.actops, op).default._schema)

    assert kind("mish") == ("broadcast", (None,))
    assert kind("swish_learnable_backward") == ("broadcast", (1, 2))  # grad_x like x, grad_beta like beta
    assert kind("swiglu_double_backward") == ("broadcast", (2, 3, 4))  # grad_grad, grad_gate, grad_up
    assert kind("trelu_with_mask") == ("broadcast", (None, None))
    assert kind("trelu_with_mask_") == ("local_inplace", None)  # in place, but returns the mask
    assert kind("mish_") == ("broadcast", (None,))
    assert kind("swiglu_packed") == ("packed", 1)
    assert kind("geglu_packed_backward") == ("packed", 2)
    assert kind("maxout") == ("grouped", 2)
    assert kind("maxout_backward") == ("grouped", 3)


def test_broadcast_rules_shard_a_parameter_with_x_or_sum_its_gradient():
    from torch.distributed.tensor import Partial, Replicate, Shard

    found = _strategies("swish_learnable_backward", _spec((4, 6)), _spec((4, 6)), _spec((6,)))
    assert ([Replicate(), Replicate()], [Replicate()] * 3) in found
    # x sharded on the batch: β replicated, its gradient a Partial sum
    assert ([Shard(0), Partial()], [Shard(0), Shard(0), Replicate()]) in found
    # x sharded along the channels: β sharded with it, and its gradient
    assert ([Shard(1), Shard(0)], [Shard(1), Shard(1), Shard(0)]) in found
    assert len(found) == 3
    # split gated, up broadcast along dim 0: replicated there
    found = _strategies("swiglu", _spec((4, 6)), _spec((1, 6)))
    assert ([Shard(0)], [Shard(0), Replicate()]) in found
    assert ([Shard(1)], [Shard(1), Shard(1)]) in found
    # no input is ever asked to be Partial: DTensor reduces it first
    assert not any(p.is_partial() for _, ins in found for p in ins)


def test_packed_rule_shards_dim_only_interleaved_with_whole_pairs():
    from torch.distributed.tensor import Replicate, Shard

    along = ([Shard(1)], [Shard(1)])
    sharded = [Shard(1)]
    assert along in _strategies("swiglu_packed", _spec((4, 8), sharded), -1, layout="interleaved")
    assert ([Shard(0)], [Shard(0)]) in _strategies("swiglu_packed", _spec((4, 8), sharded), -1)
    for layout in ("gate_up", "up_gate"):
        assert along not in _strategies("swiglu_packed", _spec((4, 8), sharded), -1, layout=layout)
    # 6 elements over 2 ranks: 3 each, a pair split
    assert along not in _strategies("swiglu_packed", _spec((4, 6), sharded), -1, layout="interleaved")
    # offered only to an x sharded there already (the layout is not in DTensor's cache key)
    assert along not in _strategies("swiglu_packed", _spec((4, 8), [Replicate()]), -1, layout="interleaved")
    # the backward: grad (4, 4), x (4, 8); its layout is positional, in the key
    backward = _strategies("swiglu_packed_backward", _spec((4, 4)), _spec((4, 8)), -1, "interleaved", 1.0, None, 0.0)
    assert ([Shard(1)], [Shard(1), Shard(1)]) in backward


def test_grouped_rule_shards_dim_only_where_every_local_size_holds_whole_groups():
    from torch.distributed.tensor import Shard

    def along(shape, pieces, mesh_shape=(2,)):
        placements = [Shard(1)] * len(mesh_shape)
        found = _strategies("maxout", _spec(shape, placements, mesh_shape), pieces, 1)
        return ([Shard(1)], [Shard(1)]) in found

    assert along((4, 8), 2) and along((4, 6), 3)
    assert not along((4, 6), 2)  # 3 and 3
    assert not along((4, 10), 2, (4,))  # 3, 3, 3, 1
    # a 2-d mesh may shard dim on either mesh dim or both: each must hold whole groups
    assert along((4, 8), 2, (2, 2))  # 4, 4 and 2, 2, 2, 2
    assert not along((4, 12), 2, (2, 2))  # 6, 6 but 3, 3, 3, 3
    found = _strategies("maxout_backward", _spec((4, 4)), _spec((4, 4)), 2, 1)  # x's dim: 8
    assert ([Shard(1)], [Shard(1), Shard(1)]) in found
