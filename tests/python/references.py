"""Independent float64 references: the textbook formulas, written with
torch's own float64 functions, not with actops' algebra, keyed by registry
name in FORMULAS. An op without one here is checked against its registry
entry's reference formula in float64 (:func:`formulas`)."""

from __future__ import annotations

import math
from typing import Callable, Tuple

import torch
import torch.nn.functional as F

from actops import registry


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


# registry name -> (f(x, *args), f'(x, *args)) in float64, args as actops.<name> takes them
FORMULAS = {
    "mish": (mish, mish_derivative),
    "relu2": (relu2, relu2_derivative),
    "swish": (swish, swish_derivative),
    "gelu": (gelu, gelu_derivative),
    "trelu": (trelu, trelu_derivative),
}
assert set(FORMULAS) <= set(registry.names()), set(FORMULAS) - set(registry.names())


def formulas(name: str) -> Tuple[Callable, Callable]:
    """(f, f') in float64 for an element-wise op: the textbook formulas above,
    or the registry's reference formula and its derivative by autograd."""
    if name in FORMULAS:
        return FORMULAS[name]
    reference = registry.get(name).reference

    def f(x: torch.Tensor, *args) -> torch.Tensor:
        return reference(x.double(), *args)

    def derivative(x: torch.Tensor, *args) -> torch.Tensor:
        x = x.double().detach().requires_grad_()
        (g,) = torch.autograd.grad(f(x, *args).sum(), x)
        return g

    return f, derivative
