"""Optimizers in PyTorch's shape: built on a list of parameters, then `zero_grad()` and `step()`.

Each step reads every parameter's `.grad` (a float, or a Value after
`backward(create_graph=True)`) and changes its `.data` in place.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from autodiff import Value, checks
from nn.module import _grad


def _rate(x: Any, name: str, where: str, upper: float = math.inf) -> float:
    """A finite real number (numpy scalars too, bools not) in [0, upper), as a float."""
    value = checks.number(x, f"{where}: {name}")
    if not 0.0 <= value < upper:
        kind = "a non-negative number" if upper == math.inf else f"a number in [0, {upper:g})"
        raise ValueError(f"{where}: {name} must be {kind} (got {checks.shown(x)})")
    return value


class Optimizer:
    """Holds the parameters: each a Value, each at most once (else it would move twice a step)."""

    def __init__(self, params: Iterable[Value], where: str) -> None:
        self.params: list[Value] = list(params)
        if not self.params:
            raise ValueError(f"{where}: params must hold at least one Value (got none)")
        for i, p in enumerate(self.params):
            if not isinstance(p, Value):
                raise TypeError(f"{where}: params[{i}] must be a Value (got {type(p).__name__})")
        if len(set(self.params)) != len(self.params):
            raise ValueError(f"{where}: params must not repeat a Value (pass each one once)")

    def zero_grad(self) -> None:
        """Reset every parameter's grad to 0 before the next backward."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Move every parameter using its current grad."""
        raise NotImplementedError

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self._settings().items())
        return f"{type(self).__name__}({len(self.params)} parameters, {settings})"

    def _settings(self) -> dict[str, Any]:
        return {}


class SGD(Optimizer):
    """Gradient descent, w ← w - lr·g; with momentum μ, PyTorch's v ← μ·v + g, w ← w - lr·v."""

    def __init__(self, params: Iterable[Value], lr: float, momentum: float = 0.0) -> None:
        super().__init__(params, "SGD")
        self.lr = _rate(lr, "lr", "SGD")
        self.momentum = _rate(momentum, "momentum", "SGD", upper=1.0)
        self.velocity = [0.0] * len(self.params)

    def _settings(self) -> dict[str, Any]:
        return {"lr": self.lr, "momentum": self.momentum}

    def step(self) -> None:
        lr, mu, velocity = self.lr, self.momentum, self.velocity
        if mu == 0.0:
            for p in self.params:
                p.data -= lr * _grad(p)
            return
        for i, p in enumerate(self.params):
            velocity[i] = v = mu * velocity[i] + _grad(p)
            p.data -= lr * v


class Adam(Optimizer):
    """Adam (Kingma & Ba): steps of about lr per parameter, scaled by running grad moments."""

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] | np.ndarray = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params, "Adam")
        self.lr = _rate(lr, "lr", "Adam")
        pair = betas.tolist() if isinstance(betas, np.ndarray) and betas.ndim == 1 else betas
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise ValueError(
                f"Adam: betas must be a pair of numbers in [0, 1) (got {checks.shown(betas)})"
            )
        self.betas = (
            _rate(pair[0], "betas[0]", "Adam", upper=1.0),
            _rate(pair[1], "betas[1]", "Adam", upper=1.0),
        )
        self.eps = _rate(eps, "eps", "Adam")
        self.t = 0
        self.m = [0.0] * len(self.params)
        self.v = [0.0] * len(self.params)

    def _settings(self) -> dict[str, Any]:
        return {"lr": self.lr, "betas": self.betas, "eps": self.eps}

    def step(self) -> None:
        self.t += 1
        b1, b2 = self.betas
        # bias corrections folded into the step size, as in the paper's efficient form
        scale = self.lr * math.sqrt(1.0 - b2**self.t) / (1.0 - b1**self.t)
        eps = self.eps * math.sqrt(1.0 - b2**self.t)
        m, v = self.m, self.v
        for i, p in enumerate(self.params):
            g = _grad(p)
            m[i] = mi = b1 * m[i] + (1.0 - b1) * g
            v[i] = vi = b2 * v[i] + (1.0 - b2) * g * g
            p.data -= scale * mi / (math.sqrt(vi) + eps)
