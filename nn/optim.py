"""Optimizers in PyTorch's shape and with PyTorch's numbers: `SGD`, `Adam`, `AdamW`.

Build one on a model's parameters, then call `zero_grad()` before each backward and `step()`
after it. The maths works on one flat numpy vector: `update(theta, grad)` takes every
parameter's number and gradient (in `params` order) and returns the new numbers, so a training
loop that keeps its parameters in a vector calls it directly. `step()` is that call wrapped:
it gathers `.data` and `.grad` from the Values, updates, and writes the numbers back.

A step is all or nothing: every new number and every new moment is computed first; if any is
NaN or infinite the step raises FloatingPointError naming the parameter, and neither the
parameters nor the optimizer's state change.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from autodiff import Value, checks
from nn.module import _grad


def _setting(
    x: Any, name: str, where: str, upper: float = math.inf, positive: bool = False
) -> float:
    """A finite real number (numpy scalars too, bools not) in [0, upper), or (0, upper)."""
    value = checks.number(x, f"{where}: {name}")
    low_ok = value > 0.0 if positive else value >= 0.0
    if not low_ok or value >= upper:
        if upper < math.inf:
            kind = f"a number in [0, {upper:g})"
        else:
            kind = "a positive number" if positive else "a non-negative number"
        raise ValueError(f"{where}: {name} must be {kind} (got {checks.shown(x)})")
    return value


def _parameter_list(params: Any, where: str) -> list[Value]:
    """`params` as a list of distinct Values; anything else is refused with what came."""
    expected = "a list of Values (e.g. model.parameters())"
    if isinstance(params, Value | str | bytes) or not isinstance(params, Iterable):
        raise TypeError(
            f"{where}: params must be {expected} (got {type(params).__name__} "
            f"{checks.shown(params)})"
        )
    found = list(params)
    if not found:
        raise ValueError(f"{where}: params must hold at least one Value (got none)")
    for i, p in enumerate(found):
        if not isinstance(p, Value):
            raise TypeError(
                f"{where}: params must be {expected} (got {type(p).__name__} "
                f"{checks.shown(p)} at params[{i}])"
            )
    if len(set(found)) != len(found):
        # it would move twice a step
        raise ValueError(f"{where}: params must not repeat a Value (pass each one once)")
    return found


_MEANING = {"m": "first moment (m)", "v": "second moment (v)", "momentum_buffer": "momentum"}


class Optimizer:
    """The parameters, `zero_grad`, and `step` as gather, `update`, write back.

    Subclasses define `_proposal(theta, grad)`: the new numbers and the new state, computed
    without changing anything; the base class checks them and commits.
    """

    def __init__(self, params: Iterable[Value], where: str) -> None:
        self.params: list[Value] = _parameter_list(params, where)

    def zero_grad(self) -> None:
        """Reset every parameter's grad to 0 before the next backward."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Move every parameter using its current grad (all of them, or none on an error)."""
        theta = np.fromiter((p.data for p in self.params), float, len(self.params))
        grad = np.fromiter((_grad(p) for p in self.params), float, len(self.params))
        for p, x in zip(self.params, self.update(theta, grad).tolist(), strict=True):
            p.data = x

    def update(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """One step on vectors: the new parameter numbers for numbers `theta` and grads `grad`.

        Both are 1-d float arrays in `params` order; neither is changed. The optimizer's state
        (moments, step count) advances only when this returns; when a new number or moment
        would be NaN or infinite it raises FloatingPointError and nothing changes. The Values
        in `params` are not touched (they only name the parameters in messages).
        """
        where = f"{type(self).__name__}.update"
        theta = self._vector(theta, "theta", where)
        grad = self._vector(grad, "grad", where)
        with np.errstate(all="ignore"):  # a non-finite result is reported below, by name
            new_theta, state = self._proposal(theta, grad)
        for name, numbers in {"value": new_theta, **state}.items():
            if np.isfinite(numbers.sum()):  # a NaN or infinity anywhere makes the sum one
                continue
            bad = np.flatnonzero(~np.isfinite(numbers))
            if bad.size:
                i = int(bad[0])
                raise FloatingPointError(
                    f"{type(self).__name__}.step: the new {_MEANING.get(name, name)} of "
                    f"{self._name(i)} would be "
                    f"{numbers[i]} (value {theta[i]}, grad {grad[i]}); nothing was changed"
                )
        self._commit(state)
        return new_theta

    def _proposal(
        self, theta: np.ndarray, grad: np.ndarray
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        raise NotImplementedError

    def _commit(self, state: dict[str, np.ndarray]) -> None:
        """Keep the state a successful step computed."""
        for name, numbers in state.items():
            setattr(self, name, numbers)

    def _vector(self, x: Any, name: str, where: str) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        n = len(self.params)
        if x.shape != (n,):
            raise ValueError(
                f"{where}: {name} must be a vector of {n} numbers, one per parameter "
                f"(got shape {x.shape})"
            )
        return x

    def _name(self, i: int) -> str:
        label = self.params[i].label
        return repr(label) if label else f"params[{i}]"

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self._settings().items())
        return f"{type(self).__name__}({len(self.params)} parameters, {settings})"

    def _settings(self) -> dict[str, Any]:
        return {}


class SGD(Optimizer):
    """Gradient descent as PyTorch does it, with its momentum and L2 weight decay.

    g ← g + weight_decay·w; with momentum μ the buffer starts as the first g and then
    b ← μ·b + g; w ← w - lr·b (w ← w - lr·g without momentum).
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, "SGD")
        self.lr = _setting(lr, "lr", "SGD")
        self.momentum = _setting(momentum, "momentum", "SGD", upper=1.0)
        self.weight_decay = _setting(weight_decay, "weight_decay", "SGD")
        self.momentum_buffer: np.ndarray | None = None

    def _settings(self) -> dict[str, Any]:
        return {"lr": self.lr, "momentum": self.momentum, "weight_decay": self.weight_decay}

    def _proposal(
        self, theta: np.ndarray, grad: np.ndarray
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        if self.weight_decay:
            grad = grad + self.weight_decay * theta
        if not self.momentum:
            return theta - self.lr * grad, {}
        buffer = (
            grad if self.momentum_buffer is None else self.momentum * self.momentum_buffer + grad
        )
        return theta - self.lr * buffer, {"momentum_buffer": buffer}


class Adam(Optimizer):
    """Adam (Kingma & Ba) as PyTorch computes it: steps of about lr, scaled by grad moments.

    g ← g + weight_decay·w (L2 through the gradient; `AdamW` decouples it instead);
    m ← β1·m + (1-β1)·g, v ← β2·v + (1-β2)·g², and at step t
    w ← w - lr/(1-β1ᵗ) · m / (√v/√(1-β2ᵗ) + eps).
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] | np.ndarray = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        where = type(self).__name__
        super().__init__(params, where)
        self.lr = _setting(lr, "lr", where)
        pair = betas.tolist() if isinstance(betas, np.ndarray) and betas.ndim == 1 else betas
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise ValueError(
                f"{where}: betas must be a pair of numbers in [0, 1) (got {checks.shown(betas)})"
            )
        self.betas = (
            _setting(pair[0], "betas[0]", where, upper=1.0),
            _setting(pair[1], "betas[1]", where, upper=1.0),
        )
        self.eps = _setting(eps, "eps", where, positive=True)
        self.weight_decay = _setting(weight_decay, "weight_decay", where)
        self.t = 0
        n = len(self.params)
        self.m = np.zeros(n)
        self.v = np.zeros(n)

    def _settings(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "betas": self.betas,
            "eps": self.eps,
            "weight_decay": self.weight_decay,
        }

    def _decayed(self, theta: np.ndarray, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The parameters and grads the moment update reads: Adam adds the L2 term to g."""
        if self.weight_decay:
            grad = grad + self.weight_decay * theta
        return theta, grad

    def _proposal(
        self, theta: np.ndarray, grad: np.ndarray
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        t = self.t + 1
        b1, b2 = self.betas
        theta, grad = self._decayed(theta, grad)
        m = b1 * self.m + (1.0 - b1) * grad
        v = b2 * self.v + (1.0 - b2) * grad * grad
        denominator = np.sqrt(v) / math.sqrt(1.0 - b2**t) + self.eps
        new_theta = theta - (self.lr / (1.0 - b1**t)) * m / denominator
        return new_theta, {"m": m, "v": v}

    def _commit(self, state: dict[str, np.ndarray]) -> None:
        super()._commit(state)
        self.t += 1


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as PyTorch's AdamW.

    Before the Adam step, w ← w - lr·weight_decay·w; the moments see the plain gradient.
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] | np.ndarray = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)

    def _decayed(self, theta: np.ndarray, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return theta * (1.0 - self.lr * self.weight_decay), grad
