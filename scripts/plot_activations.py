"""Plots every actops activation with its first derivative, beside sigmoid,
tanh and ReLU, over -5..5, and saves the grid as a PNG.

    python scripts/plot_activations.py                   # docs/activations.png
    python scripts/plot_activations.py --out /tmp/a.png  # elsewhere (a .png file or a folder)
    python scripts/plot_activations.py --ops mish,gelu   # only some actops panels

Every derivative is ``torch.autograd.grad`` through the op itself (the actops
op's own C++ backward; torch's for the three references), never a formula
written here. SwiGLU, a function of two inputs, gets a slice swish(g)*u for a
few fixed u and the surface over (g, u); Maxout gets the max of k lines
a_i*x + b_i, drawn with the lines. The panels follow the registry of the ops
(actops.registry): an op without panels of its own here gets one from its
kind, at its default arguments.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import actops  # noqa: E402
from actops import registry  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LO, HI = -5.0, 5.0
X = torch.linspace(LO, HI, 2001, dtype=torch.float64)

F_COLOR, D_COLOR, REF_COLOR = "#1f5fa8", "#d1495b", "#b8b8b8"


def value_and_derivative(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor = X
) -> Tuple[np.ndarray, np.ndarray]:
    """fn(x) and d fn(x)/dx, the latter by autograd through fn (fn is elementwise in x)."""
    x = x.clone().requires_grad_(True)
    y = fn(x)
    (dy,) = torch.autograd.grad(y.sum(), x)
    return y.detach().numpy(), dy.numpy()


def broken(y: np.ndarray, jump: float = 0.1) -> np.ndarray:
    """y with NaN inserted where it jumps (TReLU at its threshold, a derivative
    at a kink), so the plot does not draw a vertical line there."""
    y = y.astype(float).copy()
    cut = np.abs(np.diff(y)) > jump
    y[1:][cut] = np.nan
    return y


def style(ax, title: str, formula: str, ylim: Tuple[float, float] = (-2.0, 5.0)) -> None:
    ax.set_title(f"{title}\n{formula}", fontsize=10.5, linespacing=1.5)
    ax.set_xlim(LO, HI)
    ax.set_ylim(*ylim)
    ax.axhline(0, color="0.6", lw=0.6, zorder=0)
    ax.axvline(0, color="0.6", lw=0.6, zorder=0)
    ax.grid(True, color="0.92", lw=0.6, zorder=-1)
    ax.tick_params(labelsize=8)


def curve(ax, fn, label: str = "f(x)", dlabel: str = "f'(x)", relu_ghost: bool = True, ylim=(-2.0, 5.0)) -> None:
    y, dy = value_and_derivative(fn)
    x = X.numpy()
    if relu_ghost:
        ax.plot(x, np.maximum(x, 0), color=REF_COLOR, lw=1.2, ls=":", label="ReLU", zorder=1)
    ax.plot(x, broken(y), color=F_COLOR, lw=2.0, label=label, zorder=3)
    ax.plot(x, broken(dy), color=D_COLOR, lw=1.6, ls="--", label=dlabel, zorder=3)
    ax.legend(fontsize=7.5, loc="upper left", frameon=False)


# --- reference panels (torch's own functions) -------------------------------


def panel_sigmoid(ax):
    curve(ax, torch.sigmoid, relu_ghost=False, ylim=(-0.5, 1.5))
    style(ax, "sigmoid (reference)", r"$\sigma(x) = 1/(1+e^{-x})$", ylim=(-0.5, 1.5))


def panel_tanh(ax):
    curve(ax, torch.tanh, relu_ghost=False)
    style(ax, "tanh (reference)", r"$\tanh(x)$", ylim=(-1.5, 1.5))


def panel_relu(ax):
    curve(ax, torch.relu, relu_ghost=False)
    style(ax, "ReLU (reference)", r"$\max(0, x)$")


# --- actops panels ------------------------------------------------------------


def panel_mish(ax):
    curve(ax, actops.mish)
    style(ax, "Mish  actops.mish", r"$x\,\tanh(\mathrm{softplus}(x))$")


def panel_relu2(ax):
    curve(ax, actops.relu2, ylim=(-1.5, 8.0))
    style(ax, "ReLU²  actops.relu2", r"$\max(0, x)^2$;  $f' = 2\,\max(0, x)$", ylim=(-1.5, 8.0))


def panel_swish(ax):
    x = X.numpy()
    ax.plot(x, np.maximum(x, 0), color=REF_COLOR, lw=1.2, ls=":", label="ReLU", zorder=1)
    for beta, lw, alpha in ((0.5, 1.0, 0.45), (2.0, 1.0, 0.45), (1.0, 2.0, 1.0)):
        y, dy = value_and_derivative(lambda t: actops.swish(t, beta=beta))
        ax.plot(x, y, color=F_COLOR, lw=lw, alpha=alpha, zorder=3, label="f(x)" if beta == 1.0 else None)
        ax.plot(
            x, dy, color=D_COLOR, lw=lw * 0.8, alpha=alpha, ls="--", zorder=3, label="f'(x)" if beta == 1.0 else None
        )
    ax.plot([], [], color="0.5", lw=1.0, alpha=0.6, label=r"thin: $\beta$ = ½, 2")
    ax.legend(fontsize=7.5, loc="upper left", frameon=False)
    style(ax, r"Swish  actops.swish, $\beta$ = 1", r"$x\,\sigma(\beta x)$;  $\beta=1$: SiLU")


def panel_gelu(ax):
    x = X.numpy()
    y, dy = value_and_derivative(actops.gelu)
    yt, dyt = value_and_derivative(lambda t: actops.gelu(t, approximate="tanh"))
    ax.plot(x, np.maximum(x, 0), color=REF_COLOR, lw=1.2, ls=":", label="ReLU", zorder=1)
    ax.plot(x, y, color=F_COLOR, lw=2.0, label="f(x)", zorder=3)
    ax.plot(x, dy, color=D_COLOR, lw=1.6, ls="--", label="f'(x)", zorder=3)
    diff = max(np.abs(y - yt).max(), np.abs(dy - dyt).max())
    ax.text(
        0.97,
        0.03,
        f'approximate="tanh": within {diff:.1e}\nof erf form (values and f\')',
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        fontsize=7,
        color="0.35",
    )
    ax.legend(fontsize=7.5, loc="upper left", frameon=False)
    style(ax, "GELU  actops.gelu", r"$x\,\Phi(x)$")


def panel_trelu(ax):
    x = X.numpy()
    ax.plot(x, np.maximum(x, 0), color=REF_COLOR, lw=1.2, ls=":", label="ReLU", zorder=1)
    for (theta, alpha), lw, a in (((0.5, 0.1), 1.0, 0.45), ((1.0, 0.0), 2.0, 1.0)):
        y, dy = value_and_derivative(lambda t: actops.trelu(t, threshold=theta, alpha=alpha))
        main = theta == 1.0
        ax.plot(x, broken(y), color=F_COLOR, lw=lw, alpha=a, zorder=3, label="f(x)" if main else None)
        ax.plot(x, broken(dy), color=D_COLOR, lw=lw * 0.8, alpha=a, ls="--", zorder=3, label="f'(x)" if main else None)
    ax.plot([], [], color="0.5", lw=1.0, alpha=0.6, label=r"thin: $\theta$ = ½, $\alpha$ = 0.1")
    ax.legend(fontsize=7.5, loc="upper left", frameon=False)
    style(ax, r"TReLU  actops.trelu, $\theta$ = 1, $\alpha$ = 0", r"$x$ if $x>\theta$, else $\alpha x$")


SWIGLU_UPS = (-1.0, 0.5, 1.0, 2.0)


def panel_swiglu_slice(ax):
    x = X.numpy()
    cmap = plt.get_cmap("viridis")
    for i, u in enumerate(SWIGLU_UPS):
        color = cmap(0.1 + 0.8 * i / (len(SWIGLU_UPS) - 1))
        up = torch.full_like(X, u)
        y, dy = value_and_derivative(lambda g: actops.swiglu(g, up))
        ax.plot(x, y, color=color, lw=1.8, label=f"u={u:g}", zorder=3)
        ax.plot(x, dy, color=color, lw=1.1, ls="--", zorder=3)
    ax.plot([], [], color="0.3", lw=1.1, ls="--", label=r"$\partial/\partial g$")
    ax.legend(fontsize=7.5, loc="upper left", frameon=False, ncol=1)
    style(
        ax, "SwiGLU  actops.swiglu(g, u), u fixed", r"$\mathrm{swish}(g)\cdot u$  vs. the gate $g$", ylim=(-5.0, 10.0)
    )
    ax.set_xlabel("gate g", fontsize=8, labelpad=1)


def panel_swiglu_surface(ax):
    n = 201
    g = torch.linspace(LO, HI, n, dtype=torch.float64)
    u = torch.linspace(LO, HI, n, dtype=torch.float64)
    G, U = torch.meshgrid(g, u, indexing="xy")
    Z = actops.swiglu(G, U).numpy()
    lim = float(np.abs(Z).max())
    norm = matplotlib.colors.TwoSlopeNorm(vcenter=0.0, vmin=-lim, vmax=lim)
    im = ax.imshow(Z, origin="lower", extent=(LO, HI, LO, HI), cmap="RdBu_r", norm=norm, aspect="auto")
    levels = [-20, -10, -5, -2, 0, 2, 5, 10, 20]
    cs = ax.contour(g.numpy(), u.numpy(), Z, levels=levels, colors="k", linewidths=0.5, alpha=0.6)
    ax.clabel(cs, fontsize=6, fmt="%g")
    for uu in SWIGLU_UPS:
        ax.axhline(uu, color="0.2", lw=0.6, ls=":")
    cb = ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
    cb.ax.tick_params(labelsize=7)
    ax.set_title(
        "SwiGLU surface\n" + r"$\mathrm{swish}(g)\cdot u$ over $(g, u)$; dotted: the slices",
        fontsize=10.5,
        linespacing=1.5,
    )
    ax.set_xlabel("gate g", fontsize=8, labelpad=1)
    ax.set_ylabel("up u", fontsize=8, labelpad=1)
    ax.tick_params(labelsize=8)


MAXOUT_A = (-0.6, 0.3, 1.4)
MAXOUT_B = (-0.5, 1.0, -1.5)


def panel_maxout(ax):
    x = X.numpy()
    a = torch.tensor(MAXOUT_A, dtype=torch.float64)
    b = torch.tensor(MAXOUT_B, dtype=torch.float64)
    k = len(MAXOUT_A)
    lines = ",  ".join(f"${ai:g}x{bi:+g}$" for ai, bi in zip(MAXOUT_A, MAXOUT_B))
    for i in range(k):
        ax.plot(
            x,
            MAXOUT_A[i] * x + MAXOUT_B[i],
            color="0.55",
            lw=0.9,
            ls="-.",
            zorder=2,
            label="the k lines" if i == 0 else None,
        )
    ax.text(
        0.97,
        0.03,
        lines,
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        fontsize=7.5,
        color="0.35",
        bbox=dict(facecolor="white", edgecolor="none", alpha=0.85, pad=1.5),
        zorder=4,
    )
    # (N, k) lines, maxout over the k pieces of dim 1: the op's forward and backward.
    y, dy = value_and_derivative(lambda t: actops.maxout(t[:, None] * a + b, pieces=k, dim=1).squeeze(1))
    ax.plot(x, y, color=F_COLOR, lw=2.0, label="f(x)", zorder=3)
    ax.plot(x, broken(dy), color=D_COLOR, lw=1.6, ls="--", label="f'(x)", zorder=3)
    ax.legend(fontsize=7.5, loc="upper left", frameon=False)
    style(ax, f"Maxout  actops.maxout, k = {k} pieces", r"$\max\,(a_1 x + b_1, \ldots, a_k x + b_k)$")


# --- the panels of an op with none of its own, from its registry entry --------


def _title(entry: registry.Op, extra: str = "") -> str:
    name = entry.modules[0] if entry.modules else entry.name
    return f"{name}  actops.{entry.name}{extra}"


def _default_arguments(entry: registry.Op, x: torch.Tensor) -> dict:
    """The default op's arguments beyond its tensors at their defaults; a
    learnable one without a number form: a tensor of one value (1)."""
    tensors = entry.tensors()
    arguments = {a: v for a, v in entry.defaults.items() if a in {b.name for b in entry.schema().arguments}}
    if entry.learnable in tensors:
        arguments[entry.learnable] = torch.ones((), dtype=x.dtype)
    return arguments


def panel_elementwise(entry: registry.Op) -> Callable:
    def panel(ax):
        curve(ax, lambda t: entry.function(t, **_default_arguments(entry, t)))
        style(ax, _title(entry), entry.formula)

    return panel


def panel_gated_slice(entry: registry.Op) -> Callable:
    """The unit's value and derivative in the gate for a few fixed up (as SwiGLU's slice)."""

    def panel(ax):
        x = X.numpy()
        cmap = plt.get_cmap("viridis")
        for i, u in enumerate(SWIGLU_UPS):
            color = cmap(0.1 + 0.8 * i / (len(SWIGLU_UPS) - 1))
            up = torch.full_like(X, u)
            y, dy = value_and_derivative(lambda g: entry.function(g, up))
            ax.plot(x, y, color=color, lw=1.8, label=f"u={u:g}", zorder=3)
            ax.plot(x, dy, color=color, lw=1.1, ls="--", zorder=3)
        ax.plot([], [], color="0.3", lw=1.1, ls="--", label=r"$\partial/\partial g$")
        ax.legend(fontsize=7.5, loc="upper left", frameon=False, ncol=1)
        style(ax, _title(entry, "(g, u), u fixed"), entry.formula, ylim=(-5.0, 10.0))
        ax.set_xlabel("gate g", fontsize=8, labelpad=1)

    return panel


REFERENCES: List[Callable] = [panel_sigmoid, panel_tanh, panel_relu]

# panels drawn by hand for these ops (by registry name)
PANELS: Dict[str, Sequence[Callable]] = {
    "mish": (panel_mish,),
    "relu2": (panel_relu2,),
    "swish": (panel_swish,),
    "gelu": (panel_gelu,),
    "trelu": (panel_trelu,),
    "swiglu": (panel_swiglu_slice, panel_swiglu_surface),
    "maxout": (panel_maxout,),
}
assert set(PANELS) <= set(registry.names()), set(PANELS) - set(registry.names())


def panels_of(entry: registry.Op) -> Sequence[Callable]:
    """The op's own panels, or one from its kind."""
    if entry.name in PANELS:
        return PANELS[entry.name]
    if entry.kind == "gated":
        return (panel_gated_slice(entry),)
    if entry.kind in ("unary", "parametric"):
        return (panel_elementwise(entry),)
    raise NotImplementedError(f"plot_activations.py: no panel for a {entry.kind} op ({entry.name}): add one to PANELS")


# actops op name -> its panels, every op of the registry
OPS: Dict[str, Sequence[Callable]] = {entry.name: panels_of(entry) for entry in registry.OPS}


def plot(ops: Sequence[str], out: Path) -> Path:
    panels = list(REFERENCES)
    for op in ops:
        panels.extend(OPS[op])
    # 3 to 5 columns, the fewest empty cells (then the most columns).
    ncols = min(len(panels), min(range(5, 2, -1), key=lambda c: -len(panels) % c))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.1 * ncols, 3.55 * nrows), squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        panel(ax)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    fig.suptitle(
        f"actops {actops.__version__} activations over [-5, 5]: f (solid) and f' (dashed), "
        "f' by autograd through each op's own backward",
        fontsize=12.5,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.975), h_pad=1.6, w_pad=1.2)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "docs" / "activations.png",
        help="the PNG to write, or a folder to write activations.png in (default: docs/activations.png)",
    )
    parser.add_argument(
        "--ops",
        default=",".join(OPS),
        help=f"comma list of actops ops to draw (default: all: {','.join(OPS)}); "
        "sigmoid, tanh and ReLU are always drawn",
    )
    args = parser.parse_args(argv)
    ops = [op.strip() for op in args.ops.split(",") if op.strip()]
    unknown = [op for op in ops if op not in OPS]
    if unknown:
        parser.error(f"unknown op(s) {', '.join(unknown)}; choose from {', '.join(OPS)}")
    out = args.out
    if out.suffix.lower() != ".png":
        out = out / "activations.png"
    print(plot(ops, out))


if __name__ == "__main__":
    main()
