"""A short look at actops: Mish values and gradients, and gradcheck.

Run with ``python -m actops.demo``.
"""

from __future__ import annotations

import torch

import actops


def main() -> None:
    torch.manual_seed(0)
    print(f"actops {actops.__version__} on torch {torch.__version__}, "
          f"CPU kernels: {actops.cpu_capability()}, threads: {torch.get_num_threads()}")
    x = torch.tensor([-30.0, -5.0, -1.0, 0.0, 1.0, 5.0, 30.0], dtype=torch.float64, requires_grad=True)
    y = actops.mish(x)
    (grad,) = torch.autograd.grad(y.sum(), x)
    reference = torch.nn.functional.mish(x.detach())
    print(f"\n{'x':>8} {'actops.mish(x)':>24} {'F.mish(x)':>24} {'d/dx':>22}")
    for xi, yi, ri, gi in zip(x.tolist(), y.tolist(), reference.tolist(), grad.tolist()):
        print(f"{xi:8.1f} {yi:24.16e} {ri:24.16e} {gi:22.16f}")
    x = torch.randn(64, dtype=torch.float64, requires_grad=True)
    first = torch.autograd.gradcheck(actops.mish, (x,))
    second = torch.autograd.gradgradcheck(actops.mish, (x,))
    print(f"\ngradcheck: {'passed' if first else 'FAILED'}; "
          f"gradgradcheck: {'passed' if second else 'FAILED'}")


if __name__ == "__main__":
    main()
