"""Builds a small model from every actops.nn layer, scripts it with
torch.jit.script and saves it, with an input and the expected output and
input gradient beside it, for the C++ example (examples/cpp) to check.

    python scripts/export_torchscript.py --out out/torchscript

writes model.pt (the scripted model) and data.pt (a scripted module whose
attributes x, y and grad hold the input, the output and d(sum y)/dx).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import actops


def build_model(seed: int = 0) -> torch.nn.Module:
    """Every actops.nn layer once: (N, 8) -> (N, 4)."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(8, 16),
        actops.nn.Mish(),
        torch.nn.Linear(16, 16),
        actops.nn.Swish(learnable=True, num_parameters=16),
        actops.nn.SwiGLU(16, 16),
        actops.nn.GELU(approximate="tanh"),
        actops.nn.Maxout(16, 8, pieces=3),
        actops.nn.TReLU(threshold=0.1, alpha=0.05),
        actops.nn.ReLU2(),
        actops.nn.Snake(8, alpha_init=0.8),
        actops.nn.GeGLU(8, 8, approximate="tanh", layout="interleaved"),
        actops.nn.ReGLU(8, 8, layout="up_gate"),
        actops.nn.SwiGLU(8, 8, beta=1.702, limit=7.0, up_offset=1.0, layout="interleaved"),
        torch.nn.Linear(8, 4),
    ).double()


class Tensors(torch.nn.Module):
    """A container that C++ reads with torch::jit::load and attr()."""

    def __init__(self, **tensors: torch.Tensor) -> None:
        super().__init__()
        for name, tensor in tensors.items():
            self.register_buffer(name, tensor)

    def forward(self) -> int:
        return 0


def export(out: Path, seed: int = 0) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    model = build_model(seed)
    scripted = torch.jit.script(model)
    x = torch.randn(5, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(seed + 1))
    x.requires_grad_()
    y = scripted(x)
    (grad,) = torch.autograd.grad(y.sum(), x)
    paths = {"model": out / "model.pt", "data": out / "data.pt"}
    scripted.save(str(paths["model"]))
    torch.jit.script(Tensors(x=x.detach(), y=y.detach(), grad=grad)).save(str(paths["data"]))
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("out/torchscript"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for name, path in export(args.out, args.seed).items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
