"""Check gradients: backward's against finite differences (`gradcheck`), and a hand-derived
closed form against the engine's (`check_gradient`, for the tests of people who derive them)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autodiff import checks
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


MAX_REPORTED = 10  # disagreements written out in one GradcheckError; the rest are counted


def _points(inputs: Any, where: str) -> list[list[float]]:
    """One point (a sequence of numbers) or many (a sequence of such sequences), as floats."""
    if isinstance(inputs, np.ndarray):
        inputs = inputs.tolist()
    if not isinstance(inputs, Sequence) or isinstance(inputs, str) or not inputs:
        raise ValueError(
            f"{where}: inputs must be a non-empty sequence of numbers or of points "
            f"(got {checks.shown(inputs)})"
        )
    many = [isinstance(p, Sequence | np.ndarray) and not isinstance(p, str) for p in inputs]
    if not any(many):
        return [checks.vector(list(inputs), None, f"{where}: inputs")]
    if not all(many):
        raise ValueError(
            f"{where}: inputs must be all numbers (one point) or all sequences (many points) "
            f"(got {checks.shown(inputs)})"
        )
    points = [
        checks.vector(p, len(inputs[0]), f"{where}: inputs[{i}]") for i, p in enumerate(inputs)
    ]
    if not points[0]:
        raise ValueError(f"{where}: inputs[0] must have at least one number (got none)")
    return points


def check_gradient(
    f: Callable[..., Value],
    claimed: Callable[..., Any],
    inputs: Any,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    eps: float = 1e-6,
) -> bool:
    """True if a hand-derived gradient agrees with the engine's at every point of `inputs`.

    `f` takes Values and returns a scalar Value; `claimed` takes the same inputs as floats and
    returns the closed-form gradient, one float per input (a sequence; a float for one input).
    `inputs` is one point (a sequence of floats) or a sequence of points. A claimed derivative
    agrees when |claimed - engine| <= atol + rtol·|engine|. Otherwise GradcheckError names
    each disagreeing input with the claimed number, the engine's and a central finite difference
    (step `eps`), so a slip in the closed form is told from a problem in `f`.
    """
    where = "check_gradient"
    for name, fn in (("f", f), ("claimed", claimed)):
        if not callable(fn):
            raise TypeError(f"{where}: {name} must be callable (got {checks.shown(fn)})")
    for name, tolerance in (("rtol", rtol), ("atol", atol), ("eps", eps)):
        if checks.number(tolerance, f"{where}: {name}") < 0 or (name == "eps" and eps == 0):
            raise ValueError(
                f"{where}: {name} must be {'> 0' if name == 'eps' else '>= 0'} (got {tolerance!r})"
            )
    problems = []
    for point in _points(inputs, where):
        leaves = [Value(x) for x in point]
        out = f(*leaves)
        if not isinstance(out, Value):
            raise TypeError(
                f"{where}: f must return a Value (got {type(out).__name__} {checks.shown(out)})"
            )
        engine = gradients(out, leaves)
        at = f"({', '.join(repr(x) for x in point)})"
        raw = claimed(*point)
        if len(point) == 1 and not isinstance(raw, Sequence | np.ndarray):
            raw = [raw]
        if isinstance(raw, np.ndarray):
            raw = raw.tolist()
        if not isinstance(raw, Sequence) or isinstance(raw, str) or len(raw) != len(point):
            raise ValueError(
                f"{where}: claimed must return {len(point)} numbers, one per input "
                f"(got {checks.shown(raw)} at {at})"
            )
        hand = [checks.number(g, f"{where}: claimed{at}[{i}]") for i, g in enumerate(raw)]
        for i, (mine, theirs) in enumerate(zip(hand, engine, strict=True)):
            if abs(mine - theirs) <= atol + rtol * abs(theirs):
                continue
            numeric = _central_difference(f, point, i, eps)
            problems.append(
                f"at {at}, input {i} (x = {point[i]!r}): claimed {mine!r}, engine {theirs!r}, "
                f"finite difference {numeric!r}"
            )
    if problems:
        shown = problems[:MAX_REPORTED]
        if len(problems) > MAX_REPORTED:
            shown.append(f"... and {len(problems) - MAX_REPORTED} more")
        raise GradcheckError(
            f"{where}: the claimed gradient disagrees with the engine's\n  " + "\n  ".join(shown)
        )
    return True


def _central_difference(f: Callable[..., Value], point: list[float], i: int, eps: float) -> float:
    def at(shift: float) -> float:
        with no_grad():
            return f(*[Value(x + shift if j == i else x) for j, x in enumerate(point)]).data

    return (at(eps) - at(-eps)) / (2 * eps)
