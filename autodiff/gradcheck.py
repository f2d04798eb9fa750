"""Check backward's gradients against central finite differences."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from autodiff.checks import as_float, shown
from autodiff.functional import gradients, no_grad
from autodiff.value import Value


class GradcheckError(RuntimeError):
    """Backward and finite differences disagree; the message names each input and both numbers."""


def gradcheck(
    f: Callable[..., Value],
    inputs: Sequence[float],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
) -> bool:
    """True if every d f/d input from backward matches (f(x+eps) - f(x-eps)) / 2eps."""
    eps = as_float(eps, "gradcheck: eps")
    if eps <= 0:
        raise ValueError(f"gradcheck: eps must be > 0, got {eps}")
    for name, tolerance in (("atol", atol), ("rtol", rtol)):
        if as_float(tolerance, f"gradcheck: {name}") < 0:
            raise ValueError(f"gradcheck: {name} must be >= 0, got {tolerance}")
    if isinstance(inputs, str) or not isinstance(inputs, Sequence | np.ndarray):
        raise TypeError(f"gradcheck: inputs must be a sequence of numbers (got {shown(inputs)})")
    point = [as_float(x, f"gradcheck: input {i}") for i, x in enumerate(inputs)]
    leaves = [Value(x) for x in point]
    out = f(*leaves)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: f must return a Value, got {type(out).__name__} {out!r}")
    analytic = gradients(out, leaves)

    def at(i: int, shift: float) -> float:
        with no_grad():
            moved = [Value(x + shift if j == i else x) for j, x in enumerate(point)]
            return f(*moved).data

    problems = []
    for i, x in enumerate(point):
        numeric = (at(i, eps) - at(i, -eps)) / (2 * eps)
        if abs(analytic[i] - numeric) > atol + rtol * abs(numeric):
            problems.append(
                f"input {i} (x = {x!r}): backward gives {analytic[i]!r}, "
                f"finite differences give {numeric!r}"
            )
    if problems:
        raise GradcheckError("gradcheck: gradients disagree\n  " + "\n  ".join(problems))
    return True
