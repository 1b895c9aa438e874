"""Independent float64 references: the textbook formulas, written with
torch's own float64 functions, not with actops' algebra."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def mish(x: torch.Tensor) -> torch.Tensor:
    x = x.double()
    return x * torch.tanh(torch.logaddexp(x, torch.zeros_like(x)))


def mish_derivative(x: torch.Tensor) -> torch.Tensor:
    x = x.double()
    t = torch.tanh(F.softplus(x))
    return t + x * torch.sigmoid(x) * (1 - t * t)
