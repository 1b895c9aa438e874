"""Draws scripts/bench.py's results as speed-ups over the PyTorch baseline, per
op, against size: one panel per dtype and pass, one line per op.

    python scripts/bench.py --quick --plot out/speedups.png          # measure, then draw
    python scripts/plot_bench.py out/bench.json out/speedups.png     # draw a saved --json run
    python scripts/plot_bench.py out/bench.json out/c.png --peer compiled

A point is the peer's median time over actops' (``speedup_vs_eager`` or
``speedup_vs_compiled`` of a bench.py row): above 1, actops is faster. The
peer is PyTorch's own op or the eager composite a user would write (bench.py's
``vs eager`` column), or the same under torch.compile (``vs compiled``, when
the run measured it). Rows without that number (an error, a peer not
measured) are left out; a panel with none says so.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402

PEERS = ("eager", "compiled")
PASSES = ("fwd", "fwd+bwd")
MARKERS = "osD^v<>phX*8Hd"

# (dtype, pass) -> op -> [(log2 n, speed-up)], sorted by size
Series = Dict[Tuple[str, str], Dict[str, List[Tuple[int, float]]]]


def speedup(row: Mapping, peer: str = "eager") -> Optional[float]:
    """The peer's time over actops' for one bench.py row, or None."""
    value = row.get(f"speedup_vs_{peer}")
    if value is None:  # rows written before finish_row stored the ratio
        t = (row.get("actops") or {}).get("median_s")
        p = (row.get(peer) or {}).get("median_s")
        value = p / t if (t and p) else None
    return value if value is not None and math.isfinite(value) and value > 0 else None


def speedups(document: Mapping, peer: str = "eager") -> Series:
    """The points to draw, from bench.py's JSON document (its ``results``)."""
    if peer not in PEERS:
        raise ValueError(f"plot_bench: peer must be one of {', '.join(PEERS)}, got {peer!r}")
    series: Series = {}
    for row in document.get("results", []):
        value = speedup(row, peer)
        if value is None:
            continue
        series.setdefault((row["dtype"], row["pass"]), {}).setdefault(row["op"], []).append((row["log2_n"], value))
    for by_op in series.values():
        for points in by_op.values():
            points.sort()
    return series


def _panels(document: Mapping) -> Tuple[List[str], List[str]]:
    """The dtypes and passes of the run, in the order it ran them."""
    dtypes: List[str] = []
    passes: List[str] = []
    for row in document.get("results", []):
        if row["dtype"] not in dtypes:
            dtypes.append(row["dtype"])
        if row["pass"] not in passes:
            passes.append(row["pass"])
    passes.sort(key=lambda p: PASSES.index(p) if p in PASSES else len(PASSES))
    return dtypes, passes


def _ops(document: Mapping) -> List[str]:
    ops: List[str] = []
    for row in document.get("results", []):
        if row["op"] not in ops:
            ops.append(row["op"])
    return ops


def _run_flags(argv: Sequence[str]) -> List[str]:
    """bench.py's flags that shaped the run, without where its outputs went."""
    flags: List[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("--json", "--plot"):
            skip = True
        elif not arg.startswith(("--json=", "--plot=")):
            flags.append(arg)
    return flags


def _title(env: Mapping, peer: str) -> str:
    vs = "PyTorch's op or eager composite" if peer == "eager" else "the same under torch.compile"
    machine = ", ".join(
        str(part)
        for part in (
            env.get("cpu") if env.get("device", "cpu") == "cpu" else env.get("gpu") or env.get("device"),
            env.get("cpu_capability") if env.get("device", "cpu") == "cpu" else None,
            f"{env['threads']} threads" if env.get("threads") else None,
            f"torch {env['torch']}" if env.get("torch") else None,
        )
        if part
    )
    command = " ".join(["bench.py", *_run_flags(env.get("argv") or [])])
    return f"actops speed-up over {vs} (> 1: actops faster)\n{machine}; {command}"


def plot_results(document: Mapping, out, peer: str = "eager") -> Path:
    """Draws the speed-ups of a bench.py run (its JSON document, or a dict with
    at least ``results``) into the PNG ``out``; returns its path."""
    series = speedups(document, peer)
    dtypes, passes = _panels(document)
    if not dtypes:
        raise ValueError("plot_bench: the document has no results to draw")
    ops = _ops(document)
    cmap = plt.get_cmap("tab20")
    style = {op: (cmap(i % 20), MARKERS[i % len(MARKERS)]) for i, op in enumerate(ops)}
    sizes = sorted({row["log2_n"] for row in document["results"]})

    nrows, ncols = len(dtypes), len(passes)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(5.2 * ncols + 2.2, 3.6 * nrows + 0.9),
        squeeze=False,
        sharex=True,
        sharey=True,
        layout="constrained",
    )
    for r, dtype in enumerate(dtypes):
        for c, pass_ in enumerate(passes):
            ax = axes[r][c]
            by_op = series.get((dtype, pass_), {})
            for op in ops:
                points = by_op.get(op)
                if not points:
                    continue
                color, marker = style[op]
                ax.plot(
                    [k for k, _ in points], [v for _, v in points], marker=marker, color=color, label=op, lw=1.4, ms=5
                )
            ax.axhline(1.0, color="#555555", lw=0.9, ls="--")
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}×"))
            ax.set_title(f"{dtype}, {pass_}", fontsize=10.5)
            ax.grid(True, which="both", alpha=0.25)
            if not by_op:
                ax.text(0.5, 0.5, "no speed-ups measured", ha="center", va="center", transform=ax.transAxes)
            if r == nrows - 1:
                ax.set_xlabel("n (output elements)")
            if c == 0:
                ax.set_ylabel(f"time of {peer} peer / actops")
    axes[0][0].set_xticks(sizes)
    axes[0][0].set_xticklabels([f"$2^{{{k}}}$" for k in sizes])
    if len(sizes) == 1:
        axes[0][0].set_xlim(sizes[0] - 1, sizes[0] + 1)
    handles = [
        plt.Line2D([], [], color=style[op][0], marker=style[op][1], lw=1.4, ms=5, label=op)
        for op in ops
        if any(op in by_op for by_op in series.values())
    ]
    if handles:
        fig.legend(handles=handles, loc="outside right center", fontsize=9, frameon=False)
    fig.suptitle(_title(document.get("environment") or {}, peer), fontsize=10.5)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("json", type=Path, help="a bench.py --json file")
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("--peer", choices=PEERS, default="eager", help="the baseline (default: %(default)s)")
    args = parser.parse_args(argv)
    document = json.loads(args.json.read_text())
    print(plot_results(document, args.out, args.peer))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
