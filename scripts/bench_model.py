"""End-to-end: one training step (forward, backward, AdamW) of whole models,
unpatched and after ``actops.patch(model)``, in one run.

    python scripts/bench_model.py                    # the full sizes below (a few minutes on 2 cores)
    python scripts/bench_model.py --quick            # tiny sizes, 2 steps each (CI)
    python scripts/bench_model.py --json out/bench_model.json --reps 30

Three models, randomly initialised from code and configs (nothing downloaded):

- ``llama``: a small Llama from transformers (``LlamaForCausalLM``: 4 layers,
  hidden 256, intermediate 688, 4 heads, vocabulary 4096, float32),
  next-token loss on batch 8 x sequence 256; patched, its MLPs call
  ``actops.swiglu(gate, up)`` instead of ``silu(gate) * up``.
- ``qwen3_moe``: a small mixture of experts from transformers
  (``Qwen3MoeForCausalLM``: the Llama's sizes, its MLPs replaced by 4
  experts of intermediate 344 each, 2 per token, so a token meets as many
  expert weights as the Llama's MLP has), the same loss and batch, with
  transformers' default experts implementation (``grouped_mm`` on CPU);
  patched, the experts' ``_apply_gate`` calls ``actops.swiglu(gate_up,
  layout="gate_up")`` on the packed projection instead of ``chunk``,
  ``silu`` and a product.
- ``mish_cnn``: a small CSP-Darknet in the style of YOLOv4's backbone (conv ->
  BatchNorm -> Mish blocks, CSP stages with residual blocks, 4 down-samplings,
  a linear classifier), cross-entropy on batch 8 x 3 x 128 x 128; patched, every
  ``nn.Mish`` becomes ``actops.nn.Mish``.

For each model it reports:

- ``step ms``: the median wall time of one training step (``zero_grad``,
  forward, loss, backward, ``AdamW.step``) over ``--reps`` steps of each
  variant, after warm-up steps. The two variants' steps are interleaved
  (ABBA...), so that load on the machine hits both alike; ``speed-up``: the
  median over the reps of unpatched / patched time of the rep's two
  back-to-back steps (> 1: patched faster).
- ``saved MB``: the activation memory a training step keeps for backward:
  bytes of the distinct tensor storages autograd saves (``saved_tensors_hooks``,
  each storage counted once, parameters excluded).
- ``peak MB``: how far the memory held by torch's CPU allocator rises during
  the forward, backward and AdamW update of one step above its level after
  ``zero_grad(set_to_none=True)`` (weights and AdamW's state): the step's
  activations, temporaries and gradients, exact to the byte. It is the
  allocator's own running total, which ``torch.profiler``
  (``profile_memory=True``) records at every allocation and free, over a step
  that follows a profiled one (so that frees of its tensors count too).
  oneDNN's private scratch buffers are not in it. (The process's resident-set
  peak was tried first: on this machine it varied by +-25 MB from one step to
  the next.)

The markdown table goes to stdout, progress to stderr, everything to ``--json``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import datetime
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import torch
from torch import nn

import actops
from actops.patching import patch

VARIANTS = ("unpatched", "patched")
STEP_MARK = "bench_model.step"


# ---- the models -----------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    # llama
    layers: int
    hidden: int
    intermediate: int
    heads: int
    vocab: int
    seq: int
    batch: int
    # qwen3_moe (and the llama sizes above)
    experts: int
    moe_intermediate: int
    # mish_cnn
    width: int
    image: int
    cnn_batch: int


FULL = Sizes(
    layers=4,
    hidden=256,
    intermediate=688,
    heads=4,
    vocab=4096,
    seq=256,
    batch=8,
    experts=4,
    moe_intermediate=344,
    width=32,
    image=128,
    cnn_batch=8,
)
QUICK = Sizes(
    layers=2,
    hidden=64,
    intermediate=172,
    heads=4,
    vocab=256,
    seq=32,
    batch=2,
    experts=4,
    moe_intermediate=88,
    width=8,
    image=32,
    cnn_batch=2,
)


def conv_bn_mish(cin: int, cout: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(cout), nn.Mish())


class Residual(nn.Module):
    """Darknet's residual block: x + conv3x3(conv1x1(x))."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.block = nn.Sequential(conv_bn_mish(channels, channels, 1), conv_bn_mish(channels, channels, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class CSPStage(nn.Module):
    """YOLOv4's CSP stage: down-sample, split into a shortcut half and a half
    through residual blocks, concatenate, mix."""

    def __init__(self, cin: int, cout: int, blocks: int) -> None:
        super().__init__()
        half = cout // 2
        self.down = conv_bn_mish(cin, cout, 3, 2)
        self.shortcut = conv_bn_mish(cout, half, 1)
        self.main = nn.Sequential(
            conv_bn_mish(cout, half, 1), *(Residual(half) for _ in range(blocks)), conv_bn_mish(half, half, 1)
        )
        self.mix = conv_bn_mish(2 * half, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.down(x)
        return self.mix(torch.cat([self.main(x), self.shortcut(x)], dim=1))


def mish_cnn(width: int, classes: int = 10) -> nn.Module:
    w = width
    return nn.Sequential(
        conv_bn_mish(3, w, 3),
        CSPStage(w, 2 * w, 1),
        CSPStage(2 * w, 4 * w, 2),
        CSPStage(4 * w, 8 * w, 2),
        CSPStage(8 * w, 16 * w, 1),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16 * w, classes),
    )


@dataclass
class Workload:
    name: str
    description: str
    model: nn.Module
    batch: Tuple[torch.Tensor, ...]
    loss: Callable[[nn.Module, Tuple[torch.Tensor, ...]], torch.Tensor]


def make_workload(name: str, sizes: Sizes) -> Workload:
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    if name == "llama":
        import transformers

        config = transformers.LlamaConfig(
            hidden_size=sizes.hidden,
            intermediate_size=sizes.intermediate,
            num_hidden_layers=sizes.layers,
            num_attention_heads=sizes.heads,
            num_key_value_heads=sizes.heads,
            vocab_size=sizes.vocab,
            max_position_embeddings=sizes.seq,
            tie_word_embeddings=False,
        )
        model = transformers.LlamaForCausalLM(config)
        ids = torch.randint(0, sizes.vocab, (sizes.batch, sizes.seq), generator=generator)
        description = (
            f"Llama {sizes.layers} layers, hidden {sizes.hidden}, intermediate {sizes.intermediate}, "
            f"vocab {sizes.vocab}; batch {sizes.batch} x seq {sizes.seq}"
        )
        return Workload(name, description, model, (ids,), lambda m, b: m(b[0], labels=b[0]).loss)
    if name == "qwen3_moe":
        import transformers

        config = transformers.Qwen3MoeConfig(
            hidden_size=sizes.hidden,
            moe_intermediate_size=sizes.moe_intermediate,
            num_experts=sizes.experts,
            num_experts_per_tok=2,
            num_hidden_layers=sizes.layers,
            num_attention_heads=sizes.heads,
            num_key_value_heads=sizes.heads,
            head_dim=sizes.hidden // sizes.heads,
            vocab_size=sizes.vocab,
            max_position_embeddings=sizes.seq,
            tie_word_embeddings=False,
        )
        model = transformers.Qwen3MoeForCausalLM(config)
        ids = torch.randint(0, sizes.vocab, (sizes.batch, sizes.seq), generator=generator)
        description = (
            f"Qwen3-MoE {sizes.layers} layers, hidden {sizes.hidden}, {sizes.experts} experts of intermediate "
            f"{sizes.moe_intermediate}, 2 per token, experts implementation "
            f"{model.config._experts_implementation}, vocab {sizes.vocab}; batch {sizes.batch} x seq {sizes.seq}"
        )
        return Workload(name, description, model, (ids,), lambda m, b: m(b[0], labels=b[0]).loss)
    if name == "mish_cnn":
        model = mish_cnn(sizes.width)
        images = torch.randn(sizes.cnn_batch, 3, sizes.image, sizes.image, generator=generator)
        labels = torch.randint(0, 10, (sizes.cnn_batch,), generator=generator)
        description = (
            f"CSP-Darknet (conv-BN-Mish), width {sizes.width}; batch {sizes.cnn_batch} x 3 x "
            f"{sizes.image} x {sizes.image}"
        )
        return Workload(
            name, description, model, (images, labels), lambda m, b: nn.functional.cross_entropy(m(b[0]), b[1])
        )
    raise ValueError(f"unknown model {name!r}")


MODELS = ("llama", "qwen3_moe", "mish_cnn")


def variant_model(workload: Workload, variant: str) -> nn.Module:
    model = copy.deepcopy(workload.model)
    if variant == "patched":
        patch(model)
    return model.train()


def count_replacements(original: nn.Module, patched: nn.Module) -> str:
    kinds: Dict[str, int] = {}
    before = dict(original.named_modules())
    for name, module in patched.named_modules():
        if hasattr(type(module), "_actops_spec"):
            key = f"{type(module).__name__} -> actops.{type(module)._actops_spec[0]}"
        elif type(module).__module__ == "actops.nn" and name in before and type(before[name]) is not type(module):
            key = f"{type(before[name]).__name__} -> actops.nn.{type(module).__name__}"
        else:
            continue
        kinds[key] = kinds.get(key, 0) + 1
    return ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "nothing"


# ---- measurements ------------------------------------------------------------------------


class Trainer:
    def __init__(self, workload: Workload, model: nn.Module) -> None:
        self.workload = workload
        self.model = model
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step(self, mark: bool = False) -> float:
        self.optimizer.zero_grad(set_to_none=True)
        with torch.profiler.record_function(STEP_MARK) if mark else contextlib.nullcontext():
            loss = self.workload.loss(self.model, self.workload.batch)
            loss.backward()
            self.optimizer.step()
        return loss.item()


def saved_bytes(workload: Workload, model: nn.Module) -> int:
    """Bytes of the distinct storages autograd saves for backward in one
    training forward, the parameters' own storages excluded."""
    parameters = {p.untyped_storage().data_ptr() for p in model.parameters()}
    storages: Dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        s = t.untyped_storage()
        if s.data_ptr() not in parameters:
            storages[s.data_ptr()] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = workload.loss(model, workload.batch)
    del loss
    return sum(storages.values())


def time_steps(trainers: Dict[str, Trainer], reps: int, warmup: int) -> Dict[str, List[float]]:
    for _ in range(warmup):
        for trainer in trainers.values():
            trainer.step()
    times: Dict[str, List[float]] = {v: [] for v in trainers}
    for rep in range(reps):
        order = VARIANTS if rep % 2 == 0 else VARIANTS[::-1]  # ABBA: neither goes first every time
        for variant in order:
            start = time.perf_counter()
            trainers[variant].step()
            times[variant].append(time.perf_counter() - start)
    return times


def peak_bytes(trainer: Trainer) -> int:
    """How far the bytes held by torch's CPU allocator rise during one training
    step's forward, backward and update, above their level after its
    zero_grad (see the module doc)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        trainer.step()  # its allocations become known to the profiler, so the next step's frees of them count
        trainer.step(mark=True)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "trace.json")
        prof.export_chrome_trace(path)
        with open(path) as f:
            events = json.load(f)["traceEvents"]
    (step,) = [e for e in events if e.get("name") == STEP_MARK and e.get("ph") == "X"]
    begin, end = float(step["ts"]), float(step["ts"]) + float(step["dur"])
    memory = sorted(
        (float(e["ts"]), int(e["args"]["Bytes"]), int(e["args"]["Total Allocated"]))
        for e in events
        if e.get("name") == "[memory]" and e.get("args", {}).get("Device Type") == 0  # CPU
    )
    inside = [(total, size) for ts, size, total in memory if begin <= ts <= end]
    if not inside:
        return 0
    start = inside[0][0] - inside[0][1]  # the running total just before the step's first event
    return max(total for total, _ in inside) - start


# ---- the run -----------------------------------------------------------------------------


def environment(args: argparse.Namespace) -> dict:
    import transformers

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.M).group(1)
    except (OSError, AttributeError):
        pass
    try:
        load = round(os.getloadavg()[0], 2)
    except OSError:
        load = None
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "actops": getattr(actops, "__version__", "?"),
        "python": platform.python_version(),
        "cpu": cpu,
        "cpu_capability": actops.cpu_capability(),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "load_average_at_start": load,
        "reps": args.reps,
        "warmup": args.warmup,
        "quick": args.quick,
    }


def run_model(name: str, args: argparse.Namespace, sizes: Sizes) -> dict:
    workload = make_workload(name, sizes)
    models = {v: variant_model(workload, v) for v in VARIANTS}
    replaced = count_replacements(workload.model, models["patched"])
    if replaced == "nothing":
        raise RuntimeError(f"actops.patch replaced nothing in {name}")
    with torch.no_grad():  # same weights, same batch: the same loss
        losses = {v: workload.loss(models[v], workload.batch).item() for v in VARIANTS}
    print(f"{name}: {workload.description}; patched: {replaced}; loss {losses}", file=sys.stderr)
    saved = {v: saved_bytes(workload, models[v]) for v in VARIANTS}
    trainers = {v: Trainer(workload, models[v]) for v in VARIANTS}
    times = time_steps(trainers, args.reps, args.warmup)
    peaks = {v: peak_bytes(trainers[v]) for v in VARIANTS}
    median = {v: statistics.median(times[v]) for v in VARIANTS}
    return {
        "model": name,
        "description": workload.description,
        "parameters": sum(p.numel() for p in workload.model.parameters()),
        "replaced": replaced,
        "initial_loss": losses,
        "step_s": {
            v: {"median": median[v], "min": min(times[v]), "max": max(times[v]), "all": times[v]} for v in VARIANTS
        },
        # each rep's two steps ran back to back: the median of their ratios is robust to drifting load
        "speedup": statistics.median(u / p for u, p in zip(times["unpatched"], times["patched"])),
        "speedup_of_medians": median["unpatched"] / median["patched"],
        "saved_bytes": saved,
        "peak_bytes": peaks,
    }


HEADER = (
    "| model | parameters | replaced | step ms unpatched | step ms patched | speed-up "
    "| saved MB unpatched / patched | peak MB unpatched / patched |"
)


def _mb(value: Optional[int]) -> str:
    return "-" if value is None else f"{value / 2**20:.1f}"


def markdown(env: dict, results: List[dict]) -> str:
    lines = [
        f"torch {env['torch']} · transformers {env['transformers']} · {env['cpu']} ({env['cpu_capability']}) · "
        f"{env['threads']} threads of {env['cpu_count']} CPUs · load average at start: {env['load_average_at_start']} "
        f"· median of {env['reps']} interleaved steps per variant after {env['warmup']} warm-up"
        + (" · QUICK (tiny sizes)" if env["quick"] else ""),
        "",
    ]
    load, cpus = env.get("load_average_at_start"), env.get("cpu_count")
    if load is not None and cpus and load > 0.5 * cpus:
        lines += [
            f"**Busy machine**: load average {load} on {cpus} CPUs when the run started; times may be inflated.",
            "",
        ]
    lines += [HEADER, "|---|---:|---|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(
            f"| {r['model']} | {r['parameters'] / 1e6:.2f} M | {r['replaced']} "
            f"| {r['step_s']['unpatched']['median'] * 1e3:.1f} | {r['step_s']['patched']['median'] * 1e3:.1f} "
            f"| {r['speedup']:.2f}× "
            f"| {_mb(r['saved_bytes']['unpatched'])} / {_mb(r['saved_bytes']['patched'])} "
            f"| {_mb(r['peak_bytes']['unpatched'])} / {_mb(r['peak_bytes']['patched'])} |"
        )
    lines += ["", *(f"- {r['model']}: {r['description']}" for r in results)]
    return "\n".join(lines)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 2 steps per variant (CI)")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--reps", type=int, default=None, help="timed steps per variant (default 15; --quick: 2)")
    parser.add_argument(
        "--warmup", type=int, default=None, help="untimed steps per variant first (default 2; --quick: 1)"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--json", type=Path, default=None, help="write the environment and results here")
    args = parser.parse_args(argv)
    if args.reps is None:
        args.reps = 2 if args.quick else 15
    if args.warmup is None:
        args.warmup = 1 if args.quick else 2
    if args.reps < 1 or args.warmup < 0:
        parser.error("--reps must be >= 1 and --warmup >= 0")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = QUICK if args.quick else FULL
    env = environment(args)
    results = [run_model(name, args, sizes) for name in args.models]
    print(markdown(env, results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"environment": env, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
