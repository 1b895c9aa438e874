"""One rank of tests/python/test_distributed.py: runs suites of DTensor,
tensor-parallel, FSDP2 and documentation checks on 2 CPU processes, each
suite in its own gloo process group on its own loopback port (opened
before it, closed after it), and saves what each check found for the test
to read. One launch for every suite: starting a process and importing torch
cost more than the checks.

    python tests/python/dist_worker.py RANK WORLD_SIZE OUT_DIR SUITE:PORT [SUITE:PORT ...]

SUITE is one of ``ops``, ``tp``, ``fsdp``, ``docs``. Every check of the
first three compares the distributed run with the same computation on full
tensors in this process, in float64; its entry in OUT_DIR/SUITE-RANK.pt (a
torch.save'd list, one per check) holds its name, the largest difference
found and the placements seen, or the error it raised. ``docs`` runs the
Python blocks of docs/distributed.md in order, as ``torchrun`` would (the
process group from the environment), one entry per block.
"""

from __future__ import annotations

import copy
import os
import re
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
import torch.distributed as dist

import actops
from actops import registry

Results = List[Dict[str, Any]]


def max_error(got, expected) -> float:
    """The largest difference, relative to the reference's size (1 at least)."""
    got, expected = torch.as_tensor(got), torch.as_tensor(expected)
    if got.shape != expected.shape:
        return float("inf")
    if got.numel() == 0:
        return 0.0
    scale = max(1.0, expected.abs().max().item())
    return (got - expected).abs().max().item() / scale


def run_check(results: Results, name: str, check: Callable[[], Dict[str, Any]]) -> None:
    try:
        found = check()
        results.append({"name": name, **found})
    except Exception as error:  # recorded, so that one failure does not hide the others
        results.append({"name": name, "error": f"{type(error).__name__}: {error}\n{traceback.format_exc()[-1500:]}"})


# ---- suite "ops": every op, form and placement on DTensors --------------------------------


@dataclass
class Case:
    """One call of an actops function: its full-size inputs (``x`` first, the
    one placed as the test says; the others replicated, or placed as
    ``placed`` says), its keyword arguments and the dim it works along
    (packed and grouped ops), with whether a shard along that dim propagates."""

    op: str
    inputs: Dict[str, torch.Tensor]
    kwargs: Dict[str, Any] = field(default_factory=dict)
    dim: Optional[int] = None
    along_dim: bool = False
    label: str = ""
    # x sharded along a packed dim with (gate, up) pairs split between
    # ranks: the double backward's unflatten of x is refused by DTensor's
    # own view rule (a documented limit, docs/distributed.md)
    split_pairs: bool = False

    @property
    def name(self) -> str:
        return f"{self.op}[{self.label}]" if self.label else self.op

    def call(self, function: Callable, tensors: Dict[str, torch.Tensor], **extra) -> torch.Tensor:
        first, *others = tensors
        return function(tensors[first], **{k: tensors[k] for k in others}, **self.kwargs, **extra)


def place(t: torch.Tensor, mesh, placements) -> torch.Tensor:
    """A DTensor of a copy of t (distribute_tensor keeps t itself as a
    replicated local tensor, which an in-place op or a step would change)."""
    from torch.distributed.tensor import distribute_tensor

    return distribute_tensor(t.detach().clone(), mesh, list(placements))


def cases() -> List[Case]:
    g = torch.Generator().manual_seed(0)

    def randn(*shape):
        return torch.randn(*shape, generator=g)

    def positive(*shape):
        return torch.rand(*shape, generator=g) + 0.5

    found: List[Case] = []
    for entry in registry.OPS:
        name = entry.name
        if entry.kind == "unary":
            for option, values in entry.choices.items():
                for value in values:
                    found.append(Case(name, {"x": randn(4, 6)}, {option: value}, label=f"{option}={value}"))
            if not entry.choices:
                found.append(Case(name, {"x": randn(4, 6)}))
        elif entry.kind == "parametric":
            learnable = entry.learnable
            extra = {"threshold": 0.1} if name == "trelu" else {}
            if entry.learnable_op is not None:  # the number form (a fixed parameter)
                found.append(Case(name, {"x": randn(4, 6)}, {learnable: 0.7, **extra}, label=f"{learnable}=0.7"))
            # one value, one per channel (x's last dim: the per-channel case
            # that a shard of that dim shards too)
            found.append(Case(name, {"x": randn(4, 6), learnable: positive(())}, extra, label=f"{learnable} one value"))
            found.append(
                Case(name, {"x": randn(4, 6), learnable: positive(6)}, extra, label=f"{learnable} per channel")
            )
        elif entry.kind == "gated":
            options = [{}] + [{k: v} for k, values in entry.choices.items() if k != "layout" for v in values[1:]]
            for option in options:
                suffix = "".join(f",{k}={v}" for k, v in option.items())
                found.append(Case(name, {"gate": randn(4, 6), "up": randn(4, 6)}, option, label="split" + suffix))
            # up broadcast along dim 0 (one row): its gradient is summed over the rows
            found.append(Case(name, {"gate": randn(4, 6), "up": randn(1, 6)}, label="split, up broadcast"))
            found.append(
                Case(
                    name, {"gate": randn(4, 6), "up": randn(6)}, {"limit": 1.5, "up_offset": 0.5}, label="split, up 1-d"
                )
            )
            for layout in ("interleaved", *[lay for lay in entry.choices["layout"] if lay != "interleaved"]):
                # interleaved first: a layout called after it on the same
                # placements must not reuse its cached sharding
                found.append(
                    Case(
                        name,
                        {"x": randn(4, 8)},
                        {"dim": -1, "layout": layout},
                        dim=-1,
                        along_dim=layout == "interleaved",
                        label=f"packed dim=-1 {layout}",
                    )
                )
            for layout in ("interleaved", "gate_up"):
                found.append(
                    Case(
                        name,
                        {"x": randn(8, 6)},
                        {"dim": 0, "layout": layout},
                        dim=0,
                        along_dim=layout == "interleaved",
                        label=f"packed dim=0 {layout}",
                    )
                )
            # 6 (gate, up) elements along dim: local shards of 3, each splitting a pair
            found.append(
                Case(
                    name,
                    {"x": randn(4, 6)},
                    {"dim": -1, "layout": "interleaved"},
                    dim=-1,
                    along_dim=False,
                    label="packed interleaved, odd shards",
                    split_pairs=True,
                )
            )
        elif entry.kind == "grouped":
            found.append(Case(name, {"x": randn(4, 8)}, {"pieces": 2, "dim": 1}, dim=1, along_dim=True, label="4|2"))
            found.append(Case(name, {"x": randn(4, 6)}, {"pieces": 2, "dim": 1}, dim=1, along_dim=False, label="3∤2"))
            found.append(Case(name, {"x": randn(6, 4)}, {"pieces": 3, "dim": 0}, dim=0, along_dim=True, label="3|3"))
        else:
            raise AssertionError(f"dist_worker: no cases for the kind {entry.kind!r} of {name}")
    return found


def unsummed(t) -> list:
    """t's placements with Partial as Replicate: a placement to build a full tensor at."""
    from torch.distributed.tensor import Replicate

    return [Replicate() if p.is_partial() else p for p in t.placements]


def ops_suite(mesh) -> Results:
    from torch.distributed.tensor import DTensor, Partial, Replicate, Shard

    results: Results = []

    def expected_placement(case: Case, x: torch.Tensor, placement):
        if case.dim is not None and placement.is_shard() and placement.dim % x.dim() == case.dim % x.dim():
            return placement if case.along_dim else Replicate()
        return placement

    def check(case: Case, placement) -> Dict[str, Any]:
        function = registry.get(case.op).function
        full = {k: v.clone().requires_grad_() for k, v in case.inputs.items()}
        x_name = next(iter(full))
        placed = {}
        for k, v in full.items():
            where = placement if k == x_name else Replicate()
            placed[k] = place(v.detach(), mesh, [where]).requires_grad_()
        y, y_ref = case.call(function, placed), case.call(function, full)
        g = torch.Generator().manual_seed(1)
        grad_full = torch.randn(y_ref.shape, generator=g)
        v = {k: torch.randn(t.shape, generator=g) for k, t in full.items()}
        grad = place(grad_full, mesh, list(y.placements))
        errors = {"forward": max_error(y.full_tensor(), y_ref)}
        grads = torch.autograd.grad(y, list(placed.values()), grad, create_graph=True)
        grads_ref = torch.autograd.grad(y_ref, list(full.values()), grad_full, create_graph=True)
        placements = {"out": tuple(y.placements)}
        for k, got, want in zip(placed, grads, grads_ref):
            errors[f"grad_{k}"] = max_error(got.full_tensor(), want)
            placements[f"grad_{k}"] = tuple(got.placements)
        # double backward: through the backward ops, as a gradient penalty does
        second_ref = sum((gr * v[k]).sum() for k, gr in zip(full, grads_ref))
        found: Dict[str, Any] = {}
        if second_ref.requires_grad:  # not where the backward is linear in grad alone (maxout, trelu)
            try:
                second = sum((gr * place(v[k], mesh, unsummed(gr))).sum() for k, gr in zip(placed, grads))
                for k, got, want in zip(
                    placed,
                    torch.autograd.grad(second, list(placed.values()), allow_unused=True),
                    torch.autograd.grad(second_ref, list(full.values()), allow_unused=True),
                ):
                    if want is not None:
                        errors[f"grad2_{k}"] = max_error(got.full_tensor(), want)
            except RuntimeError as error:
                if not (case.split_pairs and placement.is_shard()):
                    raise
                found["double_backward_refused"] = " ".join(str(error).split())
        asked = str(placement)
        if placement.is_shard():
            placement = Shard(placement.dim % full[x_name].dim())
        want = expected_placement(case, full[x_name], placement)
        return {
            "errors": errors,
            "placements": placements,
            "expected_out": (want,),
            "op": case.op,
            "placement": asked,
            **found,
        }

    all_cases = cases()
    for placement in (Shard(0), Shard(-1), Replicate()):
        for case in all_cases:
            run_check(results, f"{case.name} {placement}", lambda: check(case, placement))

    # out=: the result copied into out, redistributed to out's placement
    # (the result's, replicated, or sharded along another dim); out keeps its
    # placement and is returned; an out of another shape is refused
    def check_out(case: Case, placement) -> Dict[str, Any]:
        function = registry.get(case.op).function
        placed = {
            k: place(v, mesh, [placement if i == 0 else Replicate()]) for i, (k, v) in enumerate(case.inputs.items())
        }
        y_ref = case.call(function, case.inputs)
        y = case.call(function, placed)
        errors = {}
        for where in (list(y.placements), [Replicate()], [Shard(1)], [Shard(0)]):
            out = place(torch.zeros(y_ref.shape), mesh, where)
            returned = case.call(function, placed, out=out)
            errors[f"out {where[0]}"] = max_error(out.full_tensor(), y_ref)
            errors[f"returned_is_out {where[0]}"] = 0.0 if returned is out else 1.0
            errors[f"out kept {where[0]}"] = 0.0 if list(out.placements) == where else 1.0
        wrong = place(torch.zeros(y_ref.shape[0] + 2, *y_ref.shape[1:]), mesh, [Replicate()])
        try:
            case.call(function, placed, out=wrong)
            refused = "accepted"
        except Exception as error:
            refused = str(error).splitlines()[0]
        return {"errors": errors, "refused": refused, "op": case.op, "form": "out"}

    for case in all_cases:
        if case.label in ("", "approximate=none", "split", "beta one value", "alpha one value", "4|2") or (
            case.label.startswith("packed dim=-1")
        ):
            for placement in (Shard(0), Shard(-1)):
                run_check(results, f"{case.name} out= {placement}", lambda: check_out(case, placement))

    # in place: x written where it lies, on every placement; with a gradient
    # (trelu_ keeps a mask through trelu_with_mask_)
    def check_inplace(entry, placement) -> Dict[str, Any]:
        x_full = torch.randn(4, 6, generator=torch.Generator().manual_seed(2))
        kwargs = {"threshold": 0.1, "alpha": 0.2} if entry.name == "trelu" else {}
        x = place(x_full, mesh, [placement])
        local_before = x.to_local()
        returned = entry.inplace_function(x, **kwargs)
        errors = {
            "value": max_error(x.full_tensor(), entry.function(x_full, **kwargs)),
            "returned_is_x": 0.0 if returned is x else 1.0,
            "same_local_storage": 0.0 if x.to_local().data_ptr() == local_before.data_ptr() else 1.0,
        }
        leaf = place(x_full, mesh, [placement]).requires_grad_()
        leaf_ref = x_full.clone().requires_grad_()
        y = entry.inplace_function(leaf * 1.0, **kwargs)
        y_ref = entry.inplace_function(leaf_ref * 1.0, **kwargs)
        grad_full = torch.randn(4, 6, generator=torch.Generator().manual_seed(3))
        y.backward(place(grad_full, mesh, list(y.placements)))
        y_ref.backward(grad_full)
        errors["forward_with_grad"] = max_error(y.full_tensor(), y_ref)
        errors["grad_x"] = max_error(leaf.grad.full_tensor(), leaf_ref.grad)
        want = Shard(placement.dim % 2) if placement.is_shard() else placement
        return {"errors": errors, "placements": {"out": tuple(y.placements)}, "expected_out": (want,)}

    for entry in registry.OPS:
        if entry.inplace_function is not None:
            for placement in (Shard(0), Shard(-1), Replicate()):
                run_check(results, f"{entry.name}_ in place {placement}", lambda: check_inplace(entry, placement))

    # a Partial input (a sum still to be taken, as a row-parallel matmul
    # leaves it) is reduced first: the ops are nonlinear
    def check_partial(entry) -> Dict[str, Any]:
        g = torch.Generator().manual_seed(4)
        parts = [torch.randn(4, 8, generator=g) for _ in range(mesh.size())]
        x = DTensor.from_local(parts[dist.get_rank()], mesh, [Partial()], run_check=False)
        full = sum(parts)
        kwargs = {"pieces": 2} if entry.kind == "grouped" else {}
        y = entry.function(x, **kwargs)
        errors = {"forward": max_error(y.full_tensor(), entry.function(full, **kwargs))}
        partial_out = any(p.is_partial() for p in y.placements)
        errors["partial_out"] = 1.0 if partial_out else 0.0
        return {"errors": errors, "op": entry.name}

    for entry in registry.OPS:
        if entry.kind in ("unary", "grouped"):
            run_check(results, f"{entry.name} Partial input", lambda: check_partial(entry))
    inplace_entry = registry.get("mish")

    def check_partial_inplace() -> Dict[str, Any]:
        x = DTensor.from_local(torch.randn(4, 6), mesh, [Partial()], run_check=False)
        try:
            inplace_entry.inplace_function(x)
        except Exception as error:
            return {"refused": str(error).splitlines()[0]}
        return {"refused": "accepted"}

    run_check(results, "mish_ on a Partial x", check_partial_inplace)

    # a per-channel parameter: with x sharded on the batch dim and the
    # parameter replicated, its gradient is a Partial sum; with x sharded
    # along the channels, the parameter is sharded the same way (given so, or
    # split from a replicated one: no communication) and so is its gradient.
    # Summed into .grad by backward() and stepped by an optimizer, as a
    # parameter is.
    def check_sharded_parameter(entry) -> Dict[str, Any]:
        g = torch.Generator().manual_seed(5)
        x_full, p_full = torch.randn(4, 6, generator=g), torch.rand(6, generator=g) + 0.5
        p_ref = torch.nn.Parameter(p_full.clone())
        entry.function(x_full, **{entry.learnable: p_ref}).sum().backward()
        torch.optim.SGD([p_ref], lr=0.1).step()
        errors, grad_placements = {}, {}
        for x_at, p_at in ((Shard(0), Replicate()), (Shard(1), Shard(0)), (Shard(1), Replicate())):
            x = place(x_full, mesh, [x_at])
            p = torch.nn.Parameter(place(p_full, mesh, [p_at]))
            y = entry.function(x, **{entry.learnable: p})
            y.backward(place(torch.ones(4, 6), mesh, list(y.placements)))
            key = f"x {x_at}, {entry.learnable} {p_at}"
            grad_placements[key] = tuple(p.grad.placements)
            torch.optim.SGD([p], lr=0.1).step()
            errors[key] = max_error(p.full_tensor().detach(), p_ref.detach())
        return {"errors": errors, "grad_placements": grad_placements}

    for entry in registry.OPS:
        if entry.kind == "parametric":
            run_check(results, f"{entry.name} parameter sharded with x", lambda: check_sharded_parameter(entry))
    return results


# ---- suite "tp": tensor-parallel MLP blocks -------------------------------------------------

STEPS = 3


class LlamaMLP(torch.nn.Module):
    """down(swiglu(gate(x), up(x))), the MLP of Llama."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.gate_proj = torch.nn.Linear(dim, hidden, bias=False)
        self.up_proj = torch.nn.Linear(dim, hidden, bias=False)
        self.down_proj = torch.nn.Linear(hidden, dim, bias=False)
        self.seen: Tuple[Any, ...] = ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = actops.swiglu(self.gate_proj(x), self.up_proj(x))
        self.seen = tuple(getattr(h, "placements", ()))
        return self.down_proj(h)


class PackedMLP(torch.nn.Module):
    """down(swiglu(gate_up(x), layout="interleaved")): one projection whose
    output alternates gate and up, as GPT-OSS's does."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.gate_up_proj = torch.nn.Linear(dim, 2 * hidden)
        self.down_proj = torch.nn.Linear(hidden, dim)
        self.seen: Tuple[Any, ...] = ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = actops.swiglu(self.gate_up_proj(x), -1, layout="interleaved", limit=3.0, up_offset=1.0)
        self.seen = tuple(getattr(h, "placements", ()))
        return self.down_proj(h)


def sgd_steps(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> List[float]:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def full(t: torch.Tensor) -> torch.Tensor:
    return t.full_tensor() if hasattr(t, "full_tensor") else t


def tp_suite(mesh) -> Results:
    from torch.distributed.tensor.parallel import ColwiseParallel, RowwiseParallel, parallelize_module

    results: Results = []
    g = torch.Generator().manual_seed(6)
    x = torch.randn(5, 3, 8, generator=g)
    y = torch.randn(5, 3, 8, generator=g)

    def check(block: torch.nn.Module, plan: Dict[str, Any]) -> Dict[str, Any]:
        single = copy.deepcopy(block)
        parallel = parallelize_module(block, mesh, plan)
        losses = sgd_steps(parallel, x, y)
        losses_ref = sgd_steps(single, x, y)
        errors = {"loss": max(abs(a - b) for a, b in zip(losses, losses_ref))}
        for (name, p), p_ref in zip(parallel.named_parameters(), single.parameters()):
            errors[name] = max_error(full(p.detach()), p_ref.detach())
        return {
            "errors": errors,
            "activation": parallel.seen,
            "losses": losses,
            "parameter_placements": {n: tuple(p.placements) for n, p in parallel.named_parameters()},
        }

    torch.manual_seed(7)
    run_check(
        results,
        "LlamaMLP swiglu",
        lambda: check(
            LlamaMLP(8, 16),
            {
                "gate_proj": ColwiseParallel(use_local_output=False),
                "up_proj": ColwiseParallel(use_local_output=False),
                "down_proj": RowwiseParallel(),
            },
        ),
    )
    torch.manual_seed(8)
    run_check(
        results,
        "packed interleaved gate_up",
        lambda: check(
            PackedMLP(8, 16),
            {"gate_up_proj": ColwiseParallel(use_local_output=False), "down_proj": RowwiseParallel()},
        ),
    )
    return results


# ---- suite "fsdp": fully_shard ---------------------------------------------------------------


def fsdp_model() -> torch.nn.Module:
    torch.manual_seed(9)
    return torch.nn.Sequential(
        torch.nn.Linear(4, 16),
        actops.nn.Swish(learnable=True, num_parameters=16),
        torch.nn.Linear(16, 16),
        actops.nn.TReLU(threshold=0.0, alpha=0.1, learnable=True),
        actops.nn.SwiGLU(16, 8),
        torch.nn.Linear(8, 1),
    )


def fsdp_suite(mesh) -> Results:
    from torch.distributed.fsdp import fully_shard

    results: Results = []

    def check() -> Dict[str, Any]:
        model, single = fsdp_model(), fsdp_model()
        for layer in model:
            if any(True for _ in layer.parameters()):
                fully_shard(layer, mesh=mesh)
        fully_shard(model, mesh=mesh)
        g = torch.Generator().manual_seed(10)
        x = torch.randn(16, 4, generator=g)
        y = x.sum(1, keepdim=True).sin()
        rank, size = dist.get_rank(), dist.get_world_size()
        rows = slice(rank * 16 // size, (rank + 1) * 16 // size)

        def adamw_steps(m, xs, ys):
            optimizer = torch.optim.AdamW(m.parameters(), lr=0.01)
            for _ in range(STEPS):
                optimizer.zero_grad()
                torch.nn.functional.mse_loss(m(xs), ys).backward()
                optimizer.step()

        # each rank's mean loss on its rows; FSDP averages the gradients
        adamw_steps(model, x[rows], y[rows])
        adamw_steps(single, x, y)
        errors = {}
        moved = 0.0
        for (name, p), p_ref, p0 in zip(model.named_parameters(), single.parameters(), fsdp_model().parameters()):
            errors[name] = max_error(full(p.detach()), p_ref.detach())
            moved = max(moved, (p_ref.detach() - p0.detach()).abs().max().item())
        return {
            "errors": errors,
            "moved": moved,
            "sharded": {n: tuple(p.placements) for n, p in model.named_parameters()},
        }

    run_check(results, "fully_shard Swish, TReLU, SwiGLU", check)
    return results


SUITES = {"ops": ops_suite, "tp": tp_suite, "fsdp": fsdp_suite}

DOC = Path(__file__).resolve().parents[2] / "docs" / "distributed.md"


def doc_blocks() -> List[str]:
    return re.findall(r"^```python\n(.*?)^```", DOC.read_text(), flags=re.MULTILINE | re.DOTALL)


def docs_suite() -> Results:
    """The doc's blocks in one namespace, in order; the first opens the group."""
    results: Results = []
    namespace: Dict[str, Any] = {"__name__": "__main__"}
    for i, block in enumerate(doc_blocks()):
        run_check(
            results,
            f"docs/distributed.md block {i}",
            lambda: exec(compile(block, f"block {i}", "exec"), namespace) or {},
        )
    return results


def run_suite(suite: str, rank: int, world_size: int, port: int) -> Results:
    if suite == "docs":
        torch.set_default_dtype(torch.float32)
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world_size))
        try:
            return docs_suite()
        finally:
            if dist.is_initialized():
                dist.destroy_process_group()
    from torch.distributed.device_mesh import init_device_mesh

    torch.set_default_dtype(torch.float64)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size)
    try:
        return SUITES[suite](init_device_mesh("cpu", (world_size,)))
    finally:
        dist.destroy_process_group()


def main(rank: int, world_size: int, out_dir: str, suites: List[str]) -> None:
    for item in suites:
        suite, port = item.split(":")
        try:
            results = run_suite(suite, rank, world_size, int(port))
        except Exception as error:  # the next suites still run, in their own groups
            results = [
                {"name": f"{suite} suite", "error": f"{type(error).__name__}: {error}\n{traceback.format_exc()}"}
            ]
        torch.save(results, Path(out_dir) / f"{suite}-{rank}.pt")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:])
