"""Independent float64 references: the textbook formulas, written with
torch's own float64 functions, not with actops' algebra."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def mish(x: torch.Tensor) -> torch.Tensor:
    x = x.double()
    return x * torch.tanh(torch.logaddexp(x, torch.zeros_like(x)))


def mish_derivative(x: torch.Tensor) -> torch.Tensor:
    x = x.double()
    t = torch.tanh(F.softplus(x))
    return t + x * torch.sigmoid(x) * (1 - t * t)


def swish(x: torch.Tensor, beta=1.0) -> torch.Tensor:
    x = x.double()
    beta = beta.double() if isinstance(beta, torch.Tensor) else beta
    return x * torch.sigmoid(beta * x)


def swish_derivative(x: torch.Tensor, beta=1.0) -> torch.Tensor:
    x = x.double()
    s = torch.sigmoid(beta * x)
    return s + beta * x * s * (1 - s)


def gelu(x: torch.Tensor, approximate: str = "none") -> torch.Tensor:
    x = x.double()
    if approximate == "tanh":
        # 0.5 x (1 + tanh(u)) with 1 + tanh(u) = 2 sigmoid(2u): no cancellation in the tail
        u = math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)
        return x * torch.sigmoid(2 * u)
    return 0.5 * x * torch.special.erfc(-x / math.sqrt(2))


def gelu_derivative(x: torch.Tensor, approximate: str = "none") -> torch.Tensor:
    x = x.double().detach().requires_grad_()
    (g,) = torch.autograd.grad(gelu(x, approximate).sum(), x)
    return g


def trelu(x: torch.Tensor, threshold: float = 1.0, alpha=0.0) -> torch.Tensor:
    x = x.double()
    alpha = alpha.double() if isinstance(alpha, torch.Tensor) else alpha
    return torch.where(x > threshold, x, alpha * x)


def trelu_derivative(x: torch.Tensor, threshold: float = 1.0, alpha=0.0) -> torch.Tensor:
    x = x.double()
    return torch.where(x > threshold, torch.ones_like(x), torch.full_like(x, alpha))


def relu2(x: torch.Tensor) -> torch.Tensor:
    x = x.double()
    return torch.relu(x) ** 2


def relu2_derivative(x: torch.Tensor) -> torch.Tensor:
    x = x.double()
    return 2 * torch.relu(x)
