"""The trade-offs between activations, made visible: one deep MLP trained on
two interleaved spirals once per activation, torch's sigmoid, tanh and ReLU
beside actops' Mish, Swish (fixed and learnable beta), GELU, TReLU, Maxout and
SwiGLU.

Run with ``python -m actops.demo`` (``--help`` for the flags). It prints a
check of the ops (exact values and gradcheck), then one table row per
activation: final loss and accuracy, time per epoch, the gradient norm at the
first layer in the first steps (vanishing gradients) and the share of dead
units, and saves loss curves, per-layer gradient norms and decision regions
as PNGs in ``--out``. Seeds are fixed: every activation sees the same data,
the same batches and the same initial draws, scaled by one rule (LSUV).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch
from torch import Tensor, nn

import actops
from actops import registry

# --- the activations: one line each -------------------------------------------


class _Width:
    """Stands for the layer width in an activation's arguments (per-channel parameters)."""

    def __repr__(self) -> str:
        return "width"


WIDTH = _Width()


class PreNormResidual(nn.Module):
    """h + layer(LayerNorm(h)): a layer used as in a pre-norm transformer block."""

    def __init__(self, layer: nn.Module, features: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(features)
        self.layer = layer

    def forward(self, h: Tensor) -> Tensor:
        return h + self.layer(self.norm(h))


@dataclasses.dataclass(frozen=True)
class Activation:
    """One entry of the comparison. ``kind`` says what a hidden block is:
    "elementwise": Linear, then ``cls(**kwargs)``; "layer": ``cls(in, out,
    **kwargs)`` in place of both; "residual": that layer as ``h +
    layer(LayerNorm(h))`` (where in == out: the first block stays plain)."""

    name: str
    owner: str  # "torch.nn" or "actops.nn"
    cls: str  # the class name in owner, looked up only when the entry is used
    kwargs: Dict[str, Any]
    kind: str = "elementwise"

    def module_class(self) -> type:
        return getattr(torch.nn if self.owner == "torch.nn" else actops.nn, self.cls)

    def block(self, in_features: int, out_features: int) -> nn.Module:
        """One hidden block: Linear then the activation, or the layer that replaces both."""
        kwargs = {k: (out_features if v is WIDTH else v) for k, v in self.kwargs.items()}
        if self.kind == "elementwise":
            return nn.Sequential(nn.Linear(in_features, out_features), self.module_class()(**kwargs))
        layer = self.module_class()(in_features, out_features, **kwargs)
        if self.kind == "residual" and in_features == out_features:
            return PreNormResidual(layer, in_features)
        return layer

    def describe(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        if self.kind == "elementwise":
            return f"Linear + {self.owner}.{self.cls}({args})"
        layer = f"{self.owner}.{self.cls}(in, width{', ' + args if args else ''})"
        if self.kind == "residual":
            return f"h + {layer}(LayerNorm(h))"
        return layer


def torch_act(name: str, cls: str, **kwargs: Any) -> Activation:
    return Activation(name, "torch.nn", cls, kwargs)


def actops_act(name: str, cls: str, **kwargs: Any) -> Activation:
    return Activation(name, "actops.nn", cls, kwargs)


def actops_layer(name: str, cls: str, **kwargs: Any) -> Activation:
    return Activation(name, "actops.nn", cls, kwargs, kind="layer")


def actops_residual(name: str, cls: str, **kwargs: Any) -> Activation:
    return Activation(name, "actops.nn", cls, kwargs, kind="residual")


ACTIVATIONS: Dict[str, Activation] = {
    a.name: a
    for a in [
        torch_act("sigmoid", "Sigmoid"),
        torch_act("tanh", "Tanh"),
        torch_act("relu", "ReLU"),
        actops_act("mish", "Mish"),
        actops_act("swish", "Swish", beta=1.0),
        actops_act("swish_learnable", "Swish", beta=1.0, learnable=True, num_parameters=WIDTH),
        actops_act("gelu", "GELU", approximate="none"),
        actops_act("trelu", "TReLU", threshold=0.5, alpha=0.01),
        actops_layer("maxout", "Maxout", pieces=2),
        actops_residual("swiglu", "SwiGLU"),
        actops_layer("swiglu_plain", "SwiGLU"),  # opt-in: a plain deep SwiGLU stack does not train
    ]
}
DEFAULT = [name for name in ACTIVATIONS if name != "swiglu_plain"]

# --- configuration -------------------------------------------------------------


@dataclasses.dataclass
class Config:
    depth: int = 12  # hidden blocks
    width: int = 48
    points: int = 2048  # training points (and half as many test points)
    turns: float = 3.0  # of each spiral arm
    noise: float = 0.03
    batch: int = 128
    epochs: int = 40
    lr: float = 2e-3
    lsuv_points: int = 512  # training points that set the initial weight scale
    first_steps: int = 10  # gradient norms "at the start": mean over these steps
    dead_below: float = 1e-3  # |local gradient| under which a unit counts as off for a point
    seed: int = 0

    @property
    def steps_at_start(self) -> int:
        """The steps that the "first steps" gradient norms average (fewer in a tiny run)."""
        return min(self.first_steps, math.ceil(self.points / self.batch) * self.epochs)


FAST = dict(depth=4, width=16, points=256, batch=64, epochs=3, first_steps=3, lsuv_points=128)

# --- data and model ------------------------------------------------------------


def two_spirals(n: int, turns: float, noise: float, generator: torch.Generator):
    """n points on two interleaved spiral arms (class 0 and 1), in about [-1, 1]^2."""
    label = torch.arange(n) % 2
    t = torch.rand(n, generator=generator).sqrt() * turns * 2 * math.pi + 0.5  # uniform along the arm
    angle = t + math.pi * label
    radius = t / (turns * 2 * math.pi + 0.5)
    x = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)
    x = x + noise * torch.randn(n, 2, generator=generator)
    return x, label


class MLP(nn.Module):
    def __init__(self, activation: Activation, depth: int, width: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(activation.block(2 if i == 0 else width, width) for i in range(depth))
        self.head = nn.Linear(width, 2)
        for module in self.modules():  # He (Kaiming) normal, zero bias; then lsuv_ sets the scale
            if isinstance(module, nn.Linear):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        for block in self.blocks:
            x = block(x)
        return self.head(x)

    @torch.no_grad()
    def lsuv_(self, x: Tensor) -> None:
        """Layer-sequential unit variance (Mishkin and Matas, 2016), the same rule
        for every activation: block by block, scale the weight of the Linear
        that makes the pre-activations so that they have unit standard
        deviation on x (exact in one pass: the biases are still zero)."""
        for block in self.blocks:
            linear = pre_activation(block)
            seen: List[Tensor] = []
            handle = linear.register_forward_hook(lambda module, inputs, output: seen.append(output))
            block(x)
            handle.remove()
            linear.weight /= seen[0].std()
            x = block(x)


def pre_activation(block: nn.Module) -> nn.Linear:
    """The Linear in a hidden block whose outputs are the block's pre-activations."""
    (linear,) = [m for m in block.modules() if isinstance(m, nn.Linear)]
    return linear


def local_gradients(model: MLP, x: Tensor) -> List[Tensor]:
    """Per hidden block, d(block output)/d(pre-activation) for every point of x
    and every pre-activation unit, by autograd through the activation itself.

    Each block's pre-activations are cut from the graph (a forward hook makes
    them fresh leaves), so the gradient of the sum of a block's outputs with
    respect to them is the activation's own local derivative; each
    pre-activation feeds one output (elementwise, SwiGLU's gate and up, a
    Maxout piece), so this is exact per unit."""
    leaves: List[Tensor] = []
    outputs: List[Tensor] = []

    def cut(module, inputs, output):
        leaf = output.detach().requires_grad_(True)
        leaves.append(leaf)
        return leaf

    handles = []
    for block in model.blocks:
        handles.append(pre_activation(block).register_forward_hook(cut))
        handles.append(block.register_forward_hook(lambda module, inputs, output: outputs.append(output)))
    try:
        with torch.enable_grad():
            model(x)
            grads = torch.autograd.grad([o.sum() for o in outputs], leaves)
    finally:
        for handle in handles:
            handle.remove()
    return list(grads)


# --- training ------------------------------------------------------------------


@dataclasses.dataclass
class Result:
    activation: Activation
    params: int
    loss: float
    train_acc: float
    test_acc: float
    ms_per_epoch: float
    grad_first: List[float]  # per hidden layer, mean over the first steps
    grad_last: List[float]  # per hidden layer, mean over the last epoch
    dead: float
    curve: List[float]  # training loss per epoch
    test_curve: List[float]  # test accuracy per epoch
    regions: Optional[Tensor] = None  # P(class 1) on the plot grid


class Progress:
    """A one-line text progress bar on stderr, redrawn with '\\r'."""

    def __init__(self, total: int, stream=sys.stderr) -> None:
        self.total, self.done, self.stream, self.start = total, 0, stream, time.perf_counter()

    def update(self, label: str, info: str = "", step: int = 1) -> None:
        self.done += step
        filled = int(30 * self.done / self.total)
        elapsed = time.perf_counter() - self.start
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (30 - filled)}] {100 * self.done / self.total:3.0f}%"
            f" {elapsed:5.1f}s  {label:<16} {info:<24}"
        )
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def accuracy(logits: Tensor, y: Tensor) -> float:
    return 100.0 * (logits.argmax(1) == y).double().mean().item()


def train(activation: Activation, cfg: Config, data, grid: Tensor, progress: Progress) -> Result:
    x, y, x_test, y_test = data
    torch.manual_seed(cfg.seed + 1)  # the same initialisation draws for every activation
    model = MLP(activation, cfg.depth, cfg.width)
    model.lsuv_(x[: cfg.lsuv_points])
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    loss_fn = nn.CrossEntropyLoss()
    shuffle = torch.Generator().manual_seed(cfg.seed + 2)  # the same batches for every activation
    steps_per_epoch = math.ceil(len(x) / cfg.batch)
    first_steps = cfg.steps_at_start
    grad_first = torch.zeros(cfg.depth, dtype=torch.float64)
    grad_last = torch.zeros(cfg.depth, dtype=torch.float64)
    curve: List[float] = []
    test_curve: List[float] = []
    epoch_seconds: List[float] = []
    step = 0
    for epoch in range(cfg.epochs):
        model.train()
        order = torch.randperm(len(x), generator=shuffle)
        epoch_loss = 0.0
        last_epoch = epoch == cfg.epochs - 1
        start = time.perf_counter()
        for i in range(0, len(x), cfg.batch):
            index = order[i : i + cfg.batch]
            loss = loss_fn(model(x[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if step < first_steps or last_epoch:
                norms = torch.stack([pre_activation(b).weight.grad.norm() for b in model.blocks]).double()
                if step < first_steps:
                    grad_first += norms / first_steps
                if last_epoch:
                    grad_last += norms / steps_per_epoch
            optimizer.step()
            epoch_loss += loss.item() * len(index)
            step += 1
        epoch_seconds.append(time.perf_counter() - start)
        curve.append(epoch_loss / len(x))
        with torch.no_grad():
            model.eval()
            test_curve.append(accuracy(model(x_test), y_test))
        progress.update(activation.name, f"epoch {epoch + 1}/{cfg.epochs} loss {curve[-1]:.3f}")

    model.eval()
    with torch.no_grad():
        logits = model(x)
        final_loss = loss_fn(logits, y).item()
        train_acc = accuracy(logits, y)
        test_acc = accuracy(model(x_test), y_test)
        regions = torch.softmax(model(grid), dim=1)[:, 1]
    local = local_gradients(model, torch.cat([x, x_test]))
    off = torch.cat([(g.abs() < cfg.dead_below).all(dim=0) for g in local])
    return Result(
        activation=activation,
        params=sum(p.numel() for p in model.parameters()),
        loss=final_loss,
        train_acc=train_acc,
        test_acc=test_acc,
        ms_per_epoch=1000 * sorted(epoch_seconds)[len(epoch_seconds) // 2],
        grad_first=grad_first.tolist(),
        grad_last=grad_last.tolist(),
        dead=100.0 * off.double().mean().item(),
        curve=curve,
        test_curve=test_curve,
        regions=regions,
    )


# --- the header: the ops are exact and their gradients check -------------------


def header(cfg: Config) -> None:
    print(
        f"actops {actops.__version__} on torch {torch.__version__}, "
        f"CPU kernels: {actops.cpu_capability()}, threads: {torch.get_num_threads()}"
    )
    x = torch.tensor([-30.0, -5.0, -1.0, 0.0, 1.0, 5.0, 30.0], dtype=torch.float64, requires_grad=True)
    y = actops.mish(x)
    (dy,) = torch.autograd.grad(y.sum(), x)
    reference = torch.nn.functional.mish(x.detach())
    rows = [("x", x.tolist()), ("actops.mish(x)", y.tolist()), ("d/dx (backward)", dy.tolist())]
    print()
    for label, values in rows:
        print(f"{label:>15}" + "".join(f"{v:>13.6g}" for v in values))
    ulps = ((y.detach() - reference).abs() / (reference.abs() * torch.finfo(x.dtype).eps).clamp_min(1e-300)).max()
    print(
        f"{'':>15}  float64; F.mish agrees to {ulps.item():.0f} ulp; the tail keeps full precision: "
        f"actops.mish(-30) = {y[0].item():.16e}"
    )
    g = torch.Generator().manual_seed(cfg.seed)

    def r(*shape: int) -> Tensor:
        return torch.randn(*shape, dtype=torch.float64, generator=g).requires_grad_(True)

    def away_from(t: Tensor, threshold: float) -> Tensor:  # finite differences must not cross the jump
        with torch.no_grad():
            t[(t - threshold).abs() < 1e-2] += 0.1
        return t

    def generic(entry: registry.Op) -> tuple:
        """actops.<name> at its defaults on (4, 16) tensors (a learnable argument: one value; 4 pieces)."""
        names = entry.tensors()
        own = [a.name for a in entry.schema().arguments if a.name not in names]
        scalars = {name: entry.defaults.get(name, 4) for name in own}
        inputs = tuple(r(1) if name == entry.learnable else r(4, 16) for name in names)
        return (lambda *tensors: entry.function(**dict(zip(names, tensors)), **scalars)), inputs

    # every op of the registry; these with the inputs and forms shown here, the others generic
    checks: Dict[str, Callable[[], tuple]] = {
        "mish": lambda: (actops.mish, (r(32),)),
        "swish": lambda: (lambda t, b: actops.swish(t, beta=b), (r(32), r(1))),
        "gelu": lambda: (actops.gelu, (r(32),)),
        "trelu": lambda: (lambda t, a: actops.trelu(t, 0.5, a), (away_from(r(32), 0.5), r(1))),
        "swiglu": lambda: (lambda t: actops.swiglu(t, dim=-1), (r(4, 16),)),
        "maxout": lambda: (lambda t: actops.maxout(t, 4, dim=1), (r(4, 16),)),
    }
    verdicts = []
    for entry in registry.OPS:
        op = entry.name
        fn, inputs = checks[op]() if op in checks else generic(entry)
        ok = torch.autograd.gradcheck(fn, inputs) and torch.autograd.gradgradcheck(fn, inputs)
        verdicts.append(f"{op} {'ok' if ok else 'FAILED'}")
    print("gradcheck + gradgradcheck (float64): " + ", ".join(verdicts))


# --- the report: table and PNGs -----------------------------------------------


def ratio(a: float, b: float) -> float:
    return a / b if b > 0 else (math.nan if a == 0 else math.inf)


def table(results: Sequence[Result], cfg: Config) -> str:
    rows = [
        f"{'activation':<16} {'params':>7} {'loss':>7} {'train%':>6} {'test%':>6} {'ms/epoch':>8} "
        f"{'|dW1|':>8} {'dW1/dWL':>8} {'dead%':>6}  block"
    ]
    for r in results:
        rows.append(
            f"{r.activation.name:<16} {r.params:>7d} {r.loss:>7.4f} {r.train_acc:>6.1f} {r.test_acc:>6.1f} "
            f"{r.ms_per_epoch:>8.1f} {r.grad_first[0]:>8.1e} {ratio(r.grad_first[0], r.grad_first[-1]):>8.1e} "
            f"{r.dead:>6.1f}  {r.activation.describe()}"
        )
    first = cfg.steps_at_start
    notes = [
        "loss: cross-entropy on the training set after the last epoch; train%, test%: accuracy; "
        "ms/epoch: forward, backward and Adam steps, median over epochs.",
        f"|dW1|: norm of the gradient of the first hidden layer's weight, mean over the first {first} steps; "
        f"dW1/dWL: that over the same for the last hidden layer (L = {cfg.depth}); "
        "far below 1: vanishing gradients.",
        "dead%: share of pre-activation units (outputs of each hidden Linear; SwiGLU's gate and up, "
        "each Maxout piece) whose local gradient "
        f"|d(block output)/d(unit)| is below {cfg.dead_below:g} for every point of the data set "
        "(training and test) after training: no example updates the weights into them "
        "(ReLU: never positive; sigmoid/tanh: saturated everywhere; Maxout: never the max).",
    ]
    names = {r.activation.name for r in results}
    if "trelu" in names:
        notes.append(
            "trelu: the thresholded variant: only inputs above 0.5 pass whole, the rest leak with "
            "slope 0.01 (threshold=0 would be LeakyReLU)."
        )
    if "swiglu" in names or "swiglu_plain" in names:
        notes.append(
            "swiglu: its output is the product of two linear maps, so its scale squares from block to "
            f"block and a plain stack {cfg.depth} deep collapses or blows up (see swiglu_plain); the swiglu "
            "row uses it as transformers do, h + SwiGLU(LayerNorm(h)), whose skip path also carries "
            "gradient, so its dW1/dWL is not comparable with the plain stacks'."
        )
    rows.append("")
    for note in notes:
        rows += textwrap.wrap(note, width=118, subsequent_indent="    ")
    return "\n".join(rows)


def legend_right(fig, ax) -> None:
    """One legend for the figure, right of the panels."""
    fig.tight_layout(rect=(0, 0, 0.88, 0.95))
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="center right", fontsize=8.5, frameon=False)


def save_plots(results: Sequence[Result], cfg: Config, data, grid_axis: Tensor, out: Path) -> List[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    colors = {name: plt.get_cmap("tab10")(i) if i < 10 else "0.25" for i, name in enumerate(ACTIVATIONS)}
    styles = {
        r.activation.name: dict(
            color=colors[r.activation.name], ls="-" if r.activation.owner == "actops.nn" else "--", lw=1.6
        )
        for r in results
    }
    subtitle = (
        f"MLP of {cfg.depth} hidden blocks of width {cfg.width} on two spirals, "
        f"{cfg.points} training points, Adam lr {cfg.lr:g}, batch {cfg.batch}; dashed: torch.nn"
    )
    written = []

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13.5, 4.6))
    epochs = range(1, cfg.epochs + 1)
    for r in results:
        ax1.plot(epochs, r.curve, label=r.activation.name, **styles[r.activation.name])
        ax2.plot(epochs, r.test_curve, label=r.activation.name, **styles[r.activation.name])
    ax1.set(yscale="log", xlabel="epoch", ylabel="training loss (cross-entropy)", title="training loss")
    ax2.set(xlabel="epoch", ylabel="test accuracy (%)", title="test accuracy", ylim=(40, 101))
    for ax in (ax1, ax2):
        ax.grid(True, color="0.9")
    legend_right(fig, ax2)
    fig.suptitle(subtitle, fontsize=10)
    written.append(out / "loss_curves.png")
    fig.savefig(written[-1], dpi=100)
    plt.close(fig)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13.5, 4.6), sharey=True)
    layers = range(1, cfg.depth + 1)
    for r in results:
        ax1.plot(layers, r.grad_first, marker="o", ms=3, label=r.activation.name, **styles[r.activation.name])
        ax2.plot(layers, r.grad_last, marker="o", ms=3, label=r.activation.name, **styles[r.activation.name])
    ax1.set(
        yscale="log",
        xlabel="hidden layer (1 = next to the input, 2 inputs: fewer weights)",
        ylabel="|dL/dW| of the layer's weight",
        title=f"gradient norm per layer, first {cfg.steps_at_start} steps",
    )
    ax2.set(xlabel="hidden layer (1 = next to the input)", title="gradient norm per layer, last epoch")
    for ax in (ax1, ax2):
        ax.grid(True, color="0.9", which="both")
        ax.set_xticks(list(layers))
    legend_right(fig, ax2)
    fig.suptitle(subtitle, fontsize=10)
    written.append(out / "grad_norms.png")
    fig.savefig(written[-1], dpi=100)
    plt.close(fig)

    x, y, _, _ = data
    ncols = min(5, len(results))
    nrows = math.ceil(len(results) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols, 2.9 * nrows + 0.3), squeeze=False)
    lim = float(grid_axis[-1])
    n = len(grid_axis)
    for ax, r in zip(axes.flat, results):
        ax.imshow(
            r.regions.reshape(n, n).numpy(),
            origin="lower",
            extent=(-lim, lim, -lim, lim),
            cmap="RdBu",
            vmin=0,
            vmax=1,
            alpha=0.55,
        )
        ax.scatter(x[:, 0], x[:, 1], c=y, cmap="RdBu", vmin=0, vmax=1, s=2, linewidths=0)
        ax.set_title(f"{r.activation.name}: test {r.test_acc:.1f}%", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[len(results) :]:
        ax.axis("off")
    fig.suptitle("decision regions after training (points: the training set)", fontsize=10)
    fig.tight_layout(h_pad=1.2)
    written.append(out / "decision_regions.png")
    fig.savefig(written[-1], dpi=100)
    plt.close(fig)
    return written


# --- main ----------------------------------------------------------------------


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m actops.demo",
        description="Train one deep MLP on two spirals once per activation and compare them.",
    )
    parser.add_argument(
        "--activations",
        default=",".join(DEFAULT),
        help=f"comma list of {', '.join(ACTIVATIONS)} (default: all but swiglu_plain)",
    )
    parser.add_argument("--epochs", type=int, default=None, help=f"epochs per activation (default {Config.epochs})")
    parser.add_argument("--out", type=Path, default=Path("out/demo"), help="folder for the PNGs (default: out/demo)")
    parser.add_argument(
        "--fast", action="store_true", help="a tiny run (4 blocks of width 16, 256 points, 3 epochs), for tests"
    )
    parser.add_argument("--seed", type=int, default=Config.seed)
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.activations.split(",") if name.strip()]
    unknown = [name for name in names if name not in ACTIVATIONS]
    if unknown or not names:
        parser.error(
            f"unknown activation(s) {', '.join(unknown) or '(none given)'}; " f"choose from {', '.join(ACTIVATIONS)}"
        )
    args.names = list(dict.fromkeys(names))
    if args.epochs is not None and args.epochs < 1:
        parser.error("--epochs must be at least 1")
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    selected = [ACTIVATIONS[name] for name in args.names]
    try:
        import matplotlib  # noqa: F401  (only the PNGs need it)

        plots = True
    except ImportError:
        plots = False
    cfg = Config(**(FAST if args.fast else {}), seed=args.seed)
    if args.epochs is not None:
        cfg.epochs = args.epochs

    header(cfg)
    torch.manual_seed(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)
    x, y = two_spirals(cfg.points, cfg.turns, cfg.noise, generator)
    x_test, y_test = two_spirals(cfg.points // 2, cfg.turns, cfg.noise, generator)
    data = (x, y, x_test, y_test)
    axis = torch.linspace(-1.15, 1.15, 120)
    gx, gy = torch.meshgrid(axis, axis, indexing="xy")
    grid = torch.stack([gx.flatten(), gy.flatten()], dim=1)
    print(
        f"\ntwo spirals ({cfg.turns:g} turns, noise {cfg.noise:g}): {cfg.points} training and "
        f"{len(x_test)} test points; MLP 2 -> {cfg.depth} x [{cfg.width}-wide block] -> 2, LSUV "
        f"init, Adam lr {cfg.lr:g}, batch {cfg.batch}, {cfg.epochs} epochs, seed {cfg.seed}, "
        "1 thread (small batches)\n",
        flush=True,
    )

    # Batches of 128 x 48 are too small to gain from a second thread, and two threads
    # stall badly when another process shares the cores: train on one.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        progress = Progress(len(selected) * cfg.epochs)
        results = [train(activation, cfg, data, grid, progress) for activation in selected]
        progress.close()
    finally:
        torch.set_num_threads(threads)
    print(table(results, cfg))
    if plots:
        written = save_plots(results, cfg, data, axis, args.out)
        print("\nplots: " + ", ".join(str(path) for path in written))
    else:
        print("\nplots: skipped, matplotlib is not installed (pip install matplotlib)")


if __name__ == "__main__":
    main()
