"""Benchmarks every actops op against PyTorch's own op (or the eager composite
a user would write), the same under torch.compile, and a plain copy of the
same bytes (the machine's bandwidth, timed in each row).

    python scripts/bench.py                      # every op, float32 and bfloat16, n = 2^12, 2^20, 2^24, 2^26
    python scripts/bench.py --quick              # small sizes, short measurements, no torch.compile (CI)
    python scripts/bench.py --ops mish swiglu --dtypes float32 --sizes 20 24 --json out/bench.json
    python scripts/bench.py --device cuda        # where a GPU (and a CUDA build of torch and actops) is present
    python scripts/bench.py --thp                # with PyTorch's transparent huge pages (THP_MEM_ALLOC_ENABLE=1)

For each op x dtype x size (n = number of OUTPUT elements) x pass (``fwd``:
forward under no_grad; ``fwd+bwd``: forward, then ``torch.autograd.grad(out,
inputs, grad_out)`` with a preallocated ``grad_out``) it reports:

- the actops time (median of ``torch.utils.benchmark.Timer`` replicates) and its
  effective bandwidth: the bytes an ideal fused kernel must move / time;
- ``% copy``: that bandwidth as a fraction of ``dst.copy_(src)`` moving the same
  number of bytes (read + write), timed in the same row: in a forward row, in
  three turns with the ``out=`` forms, the best of each kept (a shared
  machine's bandwidth drifts within a run);
- ``vs eager`` / ``vs compiled``: peer time / actops time (> 1: actops is faster),
  the peer being PyTorch's op or eager composite, and the same function under
  ``torch.compile(fullgraph=True, dynamic=False)`` (compiled afresh for every
  row; the first call, i.e. compile time, is excluded and reported apart);
- the activation memory a training step keeps: bytes of the distinct storages
  autograd saves for backward (``saved_tensors_hooks``), actops and eager peer;
- forward rows only: ``out=`` ms and ``out= % copy``, actops' ``out=`` form
  writing into a tensor allocated (and touched) before the timing, so that it
  measures the kernel and not the page faults of a fresh output (at 2^24
  float32 and above, glibc serves every new output with a fresh mmap); and
  ``out= vs eager out=``, PyTorch's own ``out=`` form (``aten.mish.out``,
  ``aten.silu.out``, ``aten.gelu.out``, ``torch.amax(..., out=)``) over it,
  where the peer is one op that has one (``–`` for composites).

Large allocating calls (a fresh output of 2^24 float32 elements and more) are
bound by the kernel's first-touch page faults, one per 4 KiB page, for actops
and PyTorch alike. ``--thp`` runs the benchmark with PyTorch's own switch for
transparent huge pages, ``THP_MEM_ALLOC_ENABLE=1`` (CPU allocations of 2 MiB and
more aligned to 2 MiB and ``madvise(MADV_HUGEPAGE)``: one fault per 2 MiB), in a
child process, since torch reads it once; the header says whether it was on and
the system's THP mode (``/sys/kernel/mm/transparent_hugepage/enabled``: the
switch takes effect under ``madvise`` and ``always``, not ``never``).

The markdown goes to stdout, progress to stderr, everything to ``--json``.
Timings are only as good as the machine is quiet: the header gives the load
average at the start and flags a busy machine. ``--quick`` (every op) takes
well under a minute; a full run of every op takes minutes (each torch.compile
row compiles for 1-3 s while Inductor's on-disk cache is cold).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch.utils import benchmark

import actops
from actops import registry

Tensor = torch.Tensor
PASSES = ("fwd", "fwd+bwd")
DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
    "float64": torch.float64,
    "fp64": torch.float64,
}
DEFAULT_DTYPES = ("float32", "bfloat16")
DEFAULT_SIZES = (12, 20, 24, 26)
QUICK_SIZES = (12, 16)
ROW = 1024  # the last-dim width H of the packed-SwiGLU and Maxout inputs (smaller when n is)


# ---- the ops ------------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    """One benchmarked op: a row group of the table.

    make_inputs(n, dtype, device) -> the differentiable inputs (leaves requiring
    grad) for n OUTPUT elements; actops_fn(*inputs) and peer_fn(*inputs) compute
    the same output; ideal_bytes(n, dtype) -> (forward, backward) bytes an ideal
    fused kernel must move. actops_fn(*inputs, out=y) writes the same output
    into a preallocated y (every actops op has an ``out=`` form); peer_out_fn
    likewise for the peer where PyTorch has an ``out=`` form of it as one op
    (None where the peer is a composite: its temporaries would allocate
    anyway)."""

    name: str
    make_inputs: Callable[[int, torch.dtype, torch.device], Tuple[Tensor, ...]]
    actops_fn: Callable[..., Tensor]
    peer_fn: Callable[..., Tensor]
    peer_name: str
    actops_name: str
    ideal_bytes: Callable[[int, torch.dtype], Tuple[int, int]]
    peer_out_fn: Optional[Callable[..., Tensor]] = None
    peer_out_name: Optional[str] = None


def _esize(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()


def _leaf(shape, dtype, device) -> Tensor:
    return torch.randn(shape, dtype=dtype, device=device).requires_grad_(True)


def _width(n: int) -> int:
    return min(ROW, n)


def _x(n, dtype, device):
    return (_leaf((n,), dtype, device),)


def _x_beta(n, dtype, device):
    return _leaf((n,), dtype, device), torch.full((1,), 1.25, dtype=dtype, device=device, requires_grad=True)


def _gate_up(n, dtype, device):
    return _leaf((n,), dtype, device), _leaf((n,), dtype, device)


def _packed(n, dtype, device):
    h = _width(n)
    return (_leaf((n // h, 2 * h), dtype, device),)


def _maxout_input(n, dtype, device):
    h = _width(n)
    return (_leaf((n // h, 4 * h), dtype, device),)


def _elementwise_bytes(n, dtype):
    e = _esize(dtype)
    return 2 * n * e, 3 * n * e  # read x, write y | read grad, read x, write dx


def _learnable_bytes(n, dtype):
    e = _esize(dtype)
    return 2 * n * e + e, 3 * n * e + 2 * e  # plus reading beta (and writing d beta)


def _swiglu_bytes(n, dtype):
    e = _esize(dtype)
    return 3 * n * e, 5 * n * e  # read g, u, write out | read grad, g, u, write dg, du


def _maxout_bytes(n, dtype):
    e = _esize(dtype)
    return 5 * n * e, n * e + n + 4 * n * e  # read 4n, write n | read grad, argmax (uint8), write 4n


def _packed_composite(x):
    g, u = x.chunk(2, -1)
    return F.silu(g) * u


def _gptoss_composite(gate_up, limit=7.0, alpha=1.702):
    """GPT-OSS's expert activation, verbatim."""
    gate, up = gate_up[..., ::2], gate_up[..., 1::2]
    gate = gate.clamp(min=None, max=limit)
    up = up.clamp(min=-limit, max=limit)
    return (up + 1) * (gate * torch.sigmoid(gate * alpha))


# The rows drawn by hand: PyTorch's own op as the peer where it has one, and
# the forms and settings worth a row of their own. Every other op of the
# registry gets rows from its kind (_registry_rows).
_ROWS: List[Op] = [
    Op(
        "mish",
        _x,
        lambda x, **kw: actops.mish(x, **kw),
        lambda x: F.mish(x),
        "F.mish(x)",
        "actops.mish(x)",
        _elementwise_bytes,
        peer_out_fn=lambda x, out: torch.ops.aten.mish.out(x, out=out),
        peer_out_name="aten.mish.out(x, out=y)",
    ),
    Op(
        "relu2",
        _x,
        lambda x, **kw: actops.relu2(x, **kw),
        lambda x: torch.relu(x).square(),
        "torch.relu(x).square()",
        "actops.relu2(x)",
        _elementwise_bytes,
    ),
    Op(
        "swish",
        _x,
        lambda x, **kw: actops.swish(x, beta=1.0, **kw),
        lambda x: F.silu(x),
        "F.silu(x)",
        "actops.swish(x, beta=1.0)",
        _elementwise_bytes,
        peer_out_fn=lambda x, out: torch.ops.aten.silu.out(x, out=out),
        peer_out_name="aten.silu.out(x, out=y)",
    ),
    Op(
        "swish_learnable",
        _x_beta,
        lambda x, t, **kw: actops.swish(x, beta=t, **kw),
        lambda x, t: x * torch.sigmoid(t * x),
        "x * torch.sigmoid(t * x)",
        "actops.swish(x, beta=t)",
        _learnable_bytes,
    ),
    Op(
        "gelu",
        _x,
        lambda x, **kw: actops.gelu(x, approximate="none", **kw),
        lambda x: F.gelu(x, approximate="none"),
        "F.gelu(x)",
        'actops.gelu(x, approximate="none")',
        _elementwise_bytes,
        peer_out_fn=lambda x, out: torch.ops.aten.gelu.out(x, approximate="none", out=out),
        peer_out_name='aten.gelu.out(x, approximate="none", out=y)',
    ),
    Op(
        "gelu_tanh",
        _x,
        lambda x, **kw: actops.gelu(x, approximate="tanh", **kw),
        lambda x: F.gelu(x, approximate="tanh"),
        'F.gelu(x, approximate="tanh")',
        'actops.gelu(x, approximate="tanh")',
        _elementwise_bytes,
        peer_out_fn=lambda x, out: torch.ops.aten.gelu.out(x, approximate="tanh", out=out),
        peer_out_name='aten.gelu.out(x, approximate="tanh", out=y)',
    ),
    Op(
        "trelu",
        _x,
        lambda x, **kw: actops.trelu(x, threshold=1.0, alpha=0.01, **kw),
        lambda x: torch.where(x > 1.0, x, 0.01 * x),
        "torch.where(x > 1.0, x, 0.01 * x)",
        "actops.trelu(x, threshold=1.0, alpha=0.01)",
        _elementwise_bytes,
    ),
    Op(
        "swiglu",
        _gate_up,
        lambda g, u, **kw: actops.swiglu(g, u, **kw),
        lambda g, u: F.silu(g) * u,
        "F.silu(g) * u",
        "actops.swiglu(g, u)",
        _swiglu_bytes,
    ),
    Op(
        "swiglu_packed",
        _packed,
        lambda x, **kw: actops.swiglu(x, dim=-1, **kw),
        _packed_composite,
        "g, u = x.chunk(2, -1); F.silu(g) * u",
        "actops.swiglu(x, dim=-1)",
        _swiglu_bytes,
    ),
    Op(
        "geglu",
        _gate_up,
        lambda g, u, **kw: actops.geglu(g, u, **kw),
        lambda g, u: F.gelu(g) * u,
        "F.gelu(g) * u",
        "actops.geglu(g, u)",
        _swiglu_bytes,
    ),
    Op(
        "geglu_tanh",
        _gate_up,
        lambda g, u, **kw: actops.geglu(g, u, approximate="tanh", **kw),
        lambda g, u: F.gelu(g, approximate="tanh") * u,
        'F.gelu(g, approximate="tanh") * u',
        'actops.geglu(g, u, approximate="tanh")',
        _swiglu_bytes,
    ),
    Op(
        "reglu",
        _gate_up,
        lambda g, u, **kw: actops.reglu(g, u, **kw),
        lambda g, u: torch.relu(g) * u,
        "torch.relu(g) * u",
        "actops.reglu(g, u)",
        _swiglu_bytes,
    ),
    Op(
        "swiglu_gptoss",
        _packed,
        lambda x, **kw: actops.swiglu(x, layout="interleaved", beta=1.702, limit=7.0, up_offset=1.0, **kw),
        _gptoss_composite,
        "GPT-OSS: gate, up = x[..., ::2], x[..., 1::2]; clamps; (up + 1) * (gate * sigmoid(1.702 gate))",
        'actops.swiglu(x, layout="interleaved", beta=1.702, limit=7.0, up_offset=1.0)',
        _swiglu_bytes,
    ),
    Op(
        "maxout",
        _maxout_input,
        lambda x, **kw: actops.maxout(x, pieces=4, dim=-1, **kw),
        lambda x: x.unflatten(-1, (-1, 4)).amax(-1),
        "x.unflatten(-1, (-1, 4)).amax(-1)",
        "actops.maxout(x, pieces=4, dim=-1)",
        _maxout_bytes,
        peer_out_fn=lambda x, out: torch.amax(x.unflatten(-1, (-1, 4)), -1, out=out),
        peer_out_name="torch.amax(x.unflatten(-1, (-1, 4)), -1, out=y)",
    ),
]


def _function_of(row: Op) -> str:
    """The registry name of the function a row times: actops.<name>(...)."""
    return row.actops_name.split("(")[0].removeprefix("actops.")


def _registry_rows(entry: registry.Op) -> List[Op]:
    """One row for an op with none drawn by hand: actops.<name> at its
    defaults (4 pieces for a grouped op; a learnable argument that must be a
    tensor: one value, 1.25) against its registry reference formula."""
    reference = f"actops.registry.get({entry.name!r}).reference"
    own = [a.name for a in entry.schema().arguments if a.name not in entry.tensors()]
    if entry.kind == "gated":
        return [
            Op(
                entry.name,
                _gate_up,
                entry.function,
                entry.reference,
                f"{reference}(g, u)",
                f"actops.{entry.name}(g, u)",
                _swiglu_bytes,
            )
        ]
    if entry.kind == "grouped":
        options = {name: entry.defaults.get(name, 4) for name in own}
        options["dim"] = -1

        def grouped(x, **kw):
            return entry.function(x, **options, **kw)

        return [
            Op(
                entry.name,
                _maxout_input,
                grouped,
                lambda x: entry.reference(x, **options),
                f"{reference}(x, pieces=4, dim=-1)",
                f"actops.{entry.name}(x, pieces=4, dim=-1)",
                _maxout_bytes,
            )
        ]
    if entry.learnable in entry.tensors():  # a tensor argument of its own: x and one value of it
        return [
            Op(
                entry.name,
                _x_beta,
                entry.function,
                entry.reference,
                f"{reference}(x, t)",
                f"actops.{entry.name}(x, t)",
                _learnable_bytes,
            )
        ]
    return [
        Op(
            entry.name,
            _x,
            entry.function,
            entry.reference,
            f"{reference}(x)",
            f"actops.{entry.name}(x)",
            _elementwise_bytes,
        )
    ]


OPS: Dict[str, Op] = {row.name: row for row in _ROWS}
assert {_function_of(row) for row in _ROWS} <= set(registry.names()), "a row of _ROWS times no registry op"
for _entry in registry.OPS:
    if _entry.name not in {_function_of(row) for row in _ROWS}:
        OPS.update((row.name, row) for row in _registry_rows(_entry))


# ---- measurement -------------------------------------------------------------------


@dataclass
class Settings:
    threads: int
    device: torch.device
    quick: bool
    min_run_time: float
    max_run_time: float

    def describe(self) -> str:
        return (
            f"Timer.adaptive_autorange(threshold=0.1, min_run_time={self.min_run_time:g} s, "
            f"max_run_time={self.max_run_time:g} s, or 2.5 calls if longer), median of the replicates"
        )


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(fn: Callable[[], object], grad: bool, cfg: Settings, warmup: int) -> dict:
    """Median seconds per call of fn() (torch.utils.benchmark; its timer
    synchronizes an accelerator), with grad mode set as given: warm-up calls,
    then replicates until their spread is within 10% of the median, or until
    max_run_time, which is stretched so that slow calls still get at least
    three replicates."""
    with torch.set_grad_enabled(grad):
        call_s = 0.0
        for _ in range(max(1, warmup)):
            sync(cfg.device)
            start = time.perf_counter()
            fn()
            sync(cfg.device)
            call_s = time.perf_counter() - start
        timer = benchmark.Timer(stmt="fn()", globals={"fn": fn}, num_threads=cfg.threads)
        m = timer.adaptive_autorange(
            threshold=0.1, min_run_time=cfg.min_run_time, max_run_time=max(cfg.max_run_time, 2.5 * call_s)
        )
    return {"median_s": m.median, "iqr_s": m.iqr, "replicates": len(m.times), "number_per_run": m.number_per_run}


def saved_bytes(fn: Callable[..., Tensor], inputs: Sequence[Tensor]) -> int:
    """Bytes of the distinct storages autograd keeps for the backward of fn(*inputs)."""
    storages: Dict[Tuple[str, int], int] = {}

    def pack(t: Tensor) -> Tensor:
        s = t.untyped_storage()
        storages[(str(s.device), s.data_ptr())] = s.nbytes()
        return t

    with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn(*inputs)
    del out
    return sum(storages.values())


class CopyBandwidth:
    """dst.copy_(src) moving a given number of bytes (half read, half written),
    timed afresh on every call: a row's % copy compares timings taken
    seconds apart, not minutes (the bandwidth of a shared machine drifts)."""

    def __init__(self, cfg: Settings) -> None:
        self.cfg = cfg

    def __call__(self, nbytes: int, warmup: int) -> dict:
        half = max(1, nbytes // 2)
        src = torch.randint(0, 256, (half,), dtype=torch.uint8, device=self.cfg.device)
        dst = torch.empty_like(src)
        result = measure(lambda: dst.copy_(src), False, self.cfg, warmup)
        result["bytes"] = 2 * half
        result["gbps"] = 2 * half / result["median_s"] / 1e9
        return result


OUT_ROUNDS = 3  # turns of copy and out= timings per forward row (see bench_op)


def _out_rounds(quick: bool) -> int:
    """Turns of copy and out= timings per forward row: one with --quick."""
    return 1 if quick else OUT_ROUNDS


def _best(kept: Optional[dict], new: dict) -> dict:
    """Of two timings, the one with the lower median (an error only where
    both are errors)."""
    if kept is None:
        return new
    if "median_s" not in new:
        return kept
    return new if "median_s" not in kept or new["median_s"] < kept["median_s"] else kept


def _forward(fn, inputs):
    return lambda: fn(*inputs)


def _forward_backward(fn, inputs, grad_out):
    def step():
        out = fn(*inputs)
        torch.autograd.grad(out, inputs, grad_out)

    return step


def _error(exc: BaseException) -> dict:
    text = f"{type(exc).__name__}: {exc}".strip()
    return {"error": text.splitlines()[0][:500] if text else type(exc).__name__}


def bench_op(op: Op, dtype_name: str, k: int, cfg: Settings, copy: CopyBandwidth, compile_peer: bool) -> List[dict]:
    """The two rows (fwd, fwd+bwd) of op at dtype and n = 2^k."""
    dtype, n, device = DTYPES[dtype_name], 1 << k, cfg.device
    warmup = 1 if (cfg.quick or n >= 1 << 22) else 3
    inputs = op.make_inputs(n, dtype, device)
    with torch.no_grad():
        reference = op.peer_fn(*inputs)
    grad_out = torch.randn_like(reference)

    common: dict = {
        "op": op.name,
        "dtype": dtype_name,
        "n": n,
        "log2_n": k,
        "input_shapes": [list(t.shape) for t in inputs],
        "output_shape": list(reference.shape),
    }
    try:
        with torch.no_grad():
            got = op.actops_fn(*inputs)
        common["max_abs_diff_vs_eager"] = float((got.double() - reference.double()).abs().max())
        del got
    except Exception:  # the actops rows below report it
        common["max_abs_diff_vs_eager"] = None
    # the out= forms write into tensors allocated (and first touched, by the
    # warm-up call) before the timing: their time is the kernel's, with no
    # page faults of a fresh output
    actops_out = torch.empty_like(reference)
    peer_out = torch.empty_like(reference) if op.peer_out_fn is not None else None
    common["out_max_abs_diff_vs_allocating"] = None
    try:
        with torch.no_grad():
            written = op.actops_fn(*inputs, out=actops_out)
            allocated = op.actops_fn(*inputs)
        if written.data_ptr() == actops_out.data_ptr() and written.shape == allocated.shape:
            common["out_max_abs_diff_vs_allocating"] = float(
                (written.double() - allocated.double()).abs().nan_to_num(float("inf")).max()
            )
        del written, allocated
    except Exception:  # the out= cell below reports it
        pass
    del reference
    saved = {}
    for who, fn in (("actops", op.actops_fn), ("eager", op.peer_fn)):
        try:
            saved[who] = saved_bytes(fn, inputs)
        except Exception:
            saved[who] = None
    common["saved_bytes"] = saved

    fwd_bytes, bwd_bytes = op.ideal_bytes(n, dtype)
    rows = []
    for pass_ in PASSES:
        grad = pass_ == "fwd+bwd"
        ideal = fwd_bytes + (bwd_bytes if grad else 0)
        make = (lambda f: _forward_backward(f, inputs, grad_out)) if grad else (lambda f: _forward(f, inputs))
        row = dict(common, **{"pass": pass_, "ideal_bytes": ideal})
        for who, fn in (("actops", op.actops_fn), ("eager", op.peer_fn)):
            try:
                row[who] = measure(make(fn), grad, cfg, warmup)
            except Exception as exc:
                row[who] = _error(exc)
        row["eager"]["name"] = op.peer_name
        # out= into a preallocated tensor: forward only (no autograd through
        # out=). The copy and the out= forms are timed in turns, OUT_ROUNDS
        # times, and each keeps its best round: this machine's bandwidth
        # moves by up to 2x for seconds at a time, and turns taken side by
        # side put the kernel and the copy it is compared with in the same
        # state (a single copy timing made one cell 70 % in one run, 120 % in
        # the next).
        row["actops_out"] = row["eager_out"] = row["copy"] = None
        for _ in range(1 if grad else _out_rounds(cfg.quick)):
            row["copy"] = _best(row["copy"], copy(ideal, warmup))
            for who, fn, dst in (("actops_out", op.actops_fn, actops_out), ("eager_out", op.peer_out_fn, peer_out)):
                if grad or fn is None:
                    continue
                try:
                    result = measure(lambda fn=fn, dst=dst: fn(*inputs, out=dst), False, cfg, warmup)
                except Exception as exc:
                    result = _error(exc)
                row[who] = _best(row[who], result)
        if row["eager_out"] is not None:
            row["eager_out"]["name"] = op.peer_out_name
        if compile_peer:
            row["compiled"] = bench_compiled(op, make, grad, cfg, warmup)
        else:
            row["compiled"] = None
        for who in ("actops", "eager", "compiled", "actops_out", "eager_out"):
            if row[who] and "median_s" in row[who]:
                row[who]["gbps"] = ideal / row[who]["median_s"] / 1e9
        finish_row(row)
        rows.append(row)
        gc.collect()
    return rows  # inputs, outputs and grad_out are freed with this frame


def bench_compiled(op: Op, make, grad: bool, cfg: Settings, warmup: int) -> dict:
    """op.peer_fn under torch.compile(fullgraph=True, dynamic=False), compiled
    afresh; the first call (compile, plus one run) is timed apart."""
    torch._dynamo.reset()
    try:
        compiled = torch.compile(op.peer_fn, fullgraph=True, dynamic=False)
        fn = make(compiled)
        with torch.set_grad_enabled(grad):
            sync(cfg.device)
            start = time.perf_counter()
            fn()
            sync(cfg.device)
            first = time.perf_counter() - start
        result = measure(fn, grad, cfg, warmup)
        result["first_call_s"] = first
        result["compile_s"] = max(0.0, first - result["median_s"])
    except Exception as exc:
        result = _error(exc)
    result["name"] = f"torch.compile({op.peer_name})"
    torch._dynamo.reset()
    return result


def warm_up_compiler(device: torch.device) -> Optional[float]:
    """Seconds of a throwaway torch.compile, so that the one-time start-up of
    Dynamo and Inductor is not charged to the first row's compile time."""
    torch._dynamo.reset()
    try:
        start = time.perf_counter()
        torch.compile(lambda t: t * 2 + 1, fullgraph=True, dynamic=False)(torch.ones(8, device=device))
        sync(device)
        return time.perf_counter() - start
    except Exception as exc:
        print(f"bench.py: torch.compile warm-up failed ({_error(exc)['error']})", file=sys.stderr)
        return None
    finally:
        torch._dynamo.reset()


def finish_row(row: dict) -> None:
    t = row["actops"].get("median_s")
    row["pct_copy"] = 100 * row["copy"]["median_s"] / t if t else None
    for who in ("eager", "compiled"):
        peer = (row[who] or {}).get("median_s")
        row[f"speedup_vs_{who}"] = peer / t if (t and peer) else None
    t_out = (row["actops_out"] or {}).get("median_s")
    row["pct_copy_out"] = 100 * row["copy"]["median_s"] / t_out if t_out else None
    peer_out = (row["eager_out"] or {}).get("median_s")
    row["speedup_out_vs_eager_out"] = peer_out / t_out if (t_out and peer_out) else None


# ---- report ---------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def environment(cfg: Settings, compile_peer: bool) -> dict:
    env = {
        "torch": torch.__version__,
        "actops": getattr(actops, "__version__", "?"),
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "cpu_capability": actops.cpu_capability(),
        "threads": cfg.threads,
        "device": str(cfg.device),
        "gpu": torch.cuda.get_device_name(cfg.device) if cfg.device.type == "cuda" else None,
        "measurement": cfg.describe(),
        "torch_compile": "torch.compile(fullgraph=True, dynamic=False), compiled per row" if compile_peer else None,
        "quick": cfg.quick,
        "load_average_at_start": _load_average(),
        "cpu_count": os.cpu_count(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "argv": sys.argv[1:],
        "thp_mem_alloc": os.environ.get(THP_VARIABLE) == "1",
        "thp_mode": thp_mode(),
    }
    return env


THP_VARIABLE = "THP_MEM_ALLOC_ENABLE"


def thp_mode() -> Optional[str]:
    """The system's transparent huge page mode (always, madvise or never), None where unknown."""
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            text = f.read()
    except OSError:
        return None
    chosen = [word.strip("[]") for word in text.split() if word.startswith("[")]
    return chosen[0] if chosen else None


def _describe_thp(env: dict) -> str:
    mode = env.get("thp_mode") or "unknown"
    if env.get("thp_mem_alloc"):
        return f"THP_MEM_ALLOC_ENABLE=1 (system THP mode: {mode})"
    return f"no THP_MEM_ALLOC_ENABLE (system THP mode: {mode})"


def _load_average() -> Optional[float]:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def busy(env: dict) -> bool:
    load, cpus = env.get("load_average_at_start"), env.get("cpu_count")
    return load is not None and cpus is not None and load > 0.5 * cpus


def _seconds(x: Optional[float]) -> str:
    return "–" if x is None else f"{x:.2f} s"


def _ms(x: Optional[float]) -> str:
    return "–" if x is None else f"{x * 1e3:.4g}"


def _ratio(x: Optional[float]) -> str:
    return "–" if x is None else f"{x:.2f}×"


def _mb(x: Optional[int]) -> str:
    return "–" if x is None else f"{x / 2**20:.3g}"


def _cell(entry: Optional[dict], key: str, fmt) -> str:
    if entry is None:
        return "–"
    if "error" in entry:
        return "error"
    return fmt(entry.get(key))


def _versus(row: dict, peer: str) -> str:
    """peer's time / actops' time, 'error' where the peer failed, '–' where not measured."""
    entry = row[peer]
    return "error" if entry is not None and "error" in entry else _ratio(row[f"speedup_vs_{peer}"])


TABLE_HEADER = (
    "| op | dtype | n | pass | actops ms | GB/s | % copy | vs eager | vs compiled "
    "| out= ms | out= % copy | out= vs eager out= | saved MB actops / eager |"
)


def markdown(env: dict, rows: List[dict], ops: List[Op]) -> str:
    rounds = _out_rounds(env["quick"])
    turns = "one turn" if rounds == 1 else f"the best of {rounds} turns"
    out = [
        f"actops {env['actops']} on torch {env['torch']} · CPU: {env['cpu']} · actops.cpu_capability(): "
        f"{env['cpu_capability']} · threads: {env['threads']} · device: {env['device']}"
        + (f" ({env['gpu']})" if env["gpu"] else "")
        + f" · load average at start: {env['load_average_at_start']} · huge pages: {_describe_thp(env)}",
        "",
        *(
            [
                f"**Busy machine**: 1-minute load average {env['load_average_at_start']} on {env['cpu_count']} CPUs "
                "when the run started; times (above all multi-threaded ones) may be inflated.",
                "",
            ]
            if busy(env)
            else []
        ),
        f"Measured with torch.utils.benchmark {env['measurement']}. GB/s = bytes an ideal fused kernel moves / "
        "time; % copy = that bandwidth over `dst.copy_(src)` of the same bytes, timed in the same row (forward rows: "
        f"{turns} with the out= forms); vs X = X's time / actops' time "
        "(> 1: actops faster); out= = actops' `out=` form writing into a preallocated tensor (forward only), "
        "its % copy, and the peer's `out=` form's time / its time where PyTorch has one (– where not); "
        "saved = bytes autograd keeps for backward.",
        "",
        TABLE_HEADER,
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        saved = r["saved_bytes"]
        cells = [
            r["op"],
            r["dtype"],
            f"2^{r['log2_n']}",
            r["pass"],
            _cell(r["actops"], "median_s", _ms),
            _cell(r["actops"], "gbps", lambda v: f"{v:.3g}"),
            "–" if r["pct_copy"] is None else f"{r['pct_copy']:.0f}",
            _versus(r, "eager"),
            _versus(r, "compiled"),
            _cell(r["actops_out"], "median_s", _ms),
            "–" if r["pct_copy_out"] is None else f"{r['pct_copy_out']:.0f}",
            "error"
            if r["eager_out"] is not None and "error" in r["eager_out"]
            else _ratio(r["speedup_out_vs_eager_out"]),
            f"{_mb(saved['actops'])} / {_mb(saved['eager'])}",
        ]
        out.append("| " + " | ".join(cells) + " |")
    out += ["", "Peers (eager; compiled = the same under torch.compile):", ""]
    for op in ops:
        out.append(
            f"- {op.name}: `{op.actops_name}` vs `{op.peer_name}`"
            + (f"; out=: vs `{op.peer_out_name}`" if op.peer_out_fn is not None else "")
        )

    compiled = [r for r in rows if r["compiled"] is not None]
    if compiled:
        sizes = sorted({r["log2_n"] for r in compiled})
        out += [
            "",
            "torch.compile: seconds of the first call (compile) per row, excluded from the times above "
            f"(one-time start-up before the first row: {_seconds(env.get('compile_startup_s'))}):",
            "",
            "| op | dtype | pass | " + " | ".join(f"2^{k}" for k in sizes) + " |",
            "|---|---|---|" + "---:|" * len(sizes),
        ]
        groups: Dict[Tuple[str, str, str], Dict[int, dict]] = {}
        for r in compiled:
            groups.setdefault((r["op"], r["dtype"], r["pass"]), {})[r["log2_n"]] = r["compiled"]
        for (name, dtype, pass_), by_size in groups.items():
            cells = [_cell(by_size.get(k), "compile_s", lambda v: f"{v:.2f}") for k in sizes]
            out.append(f"| {name} | {dtype} | {pass_} | " + " | ".join(cells) + " |")

    errors = [
        (r, who)
        for r in rows
        for who in ("actops", "eager", "compiled", "actops_out", "eager_out")
        if r[who] and "error" in r[who]
    ]
    if errors:
        out += ["", "Errors:", ""]
        out += [f"- {r['op']} {r['dtype']} 2^{r['log2_n']} {r['pass']} {who}: {r[who]['error']}" for r, who in errors]
    return "\n".join(out)


# ---- command line -------------------------------------------------------------------------


def _split(values: Optional[Sequence[str]]) -> List[str]:
    return [v for value in values or [] for v in value.replace(",", " ").split()]


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="ops: " + ", ".join(OPS),
    )
    p.add_argument("--ops", nargs="+", metavar="OP", help="ops to run (default: all): " + ", ".join(OPS))
    p.add_argument("--dtypes", nargs="+", metavar="DTYPE", help="default: float32 bfloat16 (float16, float64 too)")
    p.add_argument(
        "--sizes", nargs="+", metavar="K", help="n = 2^K output elements (default: 12 20 24 26; --quick: 12 16)"
    )
    p.add_argument(
        "--quick", action="store_true", help="small sizes, short measurements, no torch.compile unless --compile"
    )
    p.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="measure the torch.compile peers (default: on, off with --quick)",
    )
    p.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch threads (default: %(default)s)")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda[:i]")
    p.add_argument("--min-run-time", type=float, help="least seconds measured per timing (default 0.2; --quick 0.01)")
    p.add_argument(
        "--max-run-time",
        type=float,
        help="most seconds measured per timing (default 1, more for calls slower than 0.4 s; --quick 0.05)",
    )
    p.add_argument(
        "--thp",
        action="store_true",
        help=f"run with PyTorch's transparent huge pages for large CPU allocations ({THP_VARIABLE}=1, in a child "
        "process: torch reads it once)",
    )
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    p.add_argument(
        "--plot",
        metavar="PATH",
        help="also draw the speed-ups over the eager peer per op and size as a PNG to PATH (scripts/plot_bench.py)",
    )
    return p.parse_args(argv)


def select_ops(requested: List[str]) -> List[Op]:
    """The ops to run (all by default); SystemExit naming an unknown one."""
    unknown = [name for name in requested if name not in OPS]
    if unknown:
        raise SystemExit(f"bench.py: unknown op(s) {', '.join(unknown)}; known: {', '.join(OPS)}")
    return [OPS[name] for name in requested or list(OPS)]


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if args.thp and os.environ.get(THP_VARIABLE) != "1":
        arguments = list(sys.argv[1:] if argv is None else argv)
        child = subprocess.run(
            [sys.executable, os.path.abspath(__file__), *arguments], env={**os.environ, THP_VARIABLE: "1"}
        )
        return child.returncode
    ops = select_ops(_split(args.ops))
    dtype_names = _split(args.dtypes) or list(DEFAULT_DTYPES)
    bad = [d for d in dtype_names if d not in DTYPES]
    if bad:
        raise SystemExit(f"bench.py: unknown dtype(s) {', '.join(bad)}; known: {', '.join(DTYPES)}")
    dtype_names = [str(DTYPES[d]).replace("torch.", "") for d in dtype_names]
    try:
        sizes = [int(k) for k in _split(args.sizes)] or list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    except ValueError:
        raise SystemExit(f"bench.py: --sizes takes exponents (integers), got {args.sizes}")
    if any(not 0 <= k <= 34 for k in sizes):
        raise SystemExit(f"bench.py: --sizes exponents must be in 0..34, got {sizes}")
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("bench.py: --device cuda, but this torch has no CUDA device")
    if args.threads < 1:
        raise SystemExit("bench.py: --threads must be at least 1")
    torch.set_num_threads(args.threads)
    compile_peer = (not args.quick) if args.compile is None else args.compile
    cfg = Settings(
        threads=args.threads,
        device=device,
        quick=args.quick,
        min_run_time=args.min_run_time or (0.01 if args.quick else 0.2),
        max_run_time=args.max_run_time or (0.05 if args.quick else 1.0),
    )
    env = environment(cfg, compile_peer)
    print(
        f"bench.py: torch {env['torch']}, {env['cpu']}, {env['cpu_capability']}, {cfg.threads} threads, "
        f"{device}; {len(ops)} ops x {len(dtype_names)} dtypes x {len(sizes)} sizes",
        file=sys.stderr,
    )

    if compile_peer:
        env["compile_startup_s"] = warm_up_compiler(device)
    torch.manual_seed(0)
    copy = CopyBandwidth(cfg)
    rows: List[dict] = []
    started = time.perf_counter()
    for op in ops:
        for dtype_name in dtype_names:
            for k in sizes:
                t0 = time.perf_counter()
                rows += bench_op(op, dtype_name, k, cfg, copy, compile_peer)
                gc.collect()
                if device.type == "cuda":
                    torch.cuda.empty_cache()
                print(f"  {op.name} {dtype_name} 2^{k}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    env["wall_s"] = time.perf_counter() - started

    print(markdown(env, rows, ops))
    if args.json:
        document = {
            "environment": env,
            "ops": {
                op.name: {"actops": op.actops_name, "eager": op.peer_name, "eager_out": op.peer_out_name} for op in ops
            },
            "results": rows,
        }
        with open(args.json, "w") as f:
            json.dump(_finite(document), f, indent=1, allow_nan=False)
            f.write("\n")
    if args.plot:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from plot_bench import plot_results  # scripts/plot_bench.py, beside this file

        print(f"bench.py: figure in {plot_results({'environment': env, 'results': rows}, args.plot)}", file=sys.stderr)
    print(f"bench.py: done in {env['wall_s']:.1f} s", file=sys.stderr)
    return 0


def _finite(value):
    """value with NaN and infinities as null (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


if __name__ == "__main__":
    sys.exit(main())
