"""Gradients as functions of plain numbers, gradients of chosen nodes, and recording off."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import wraps
from typing import Any

from autodiff import checks
from autodiff.backward import gradient_map
from autodiff.op import Op
from autodiff.value import EAGER, RECORDING, Eager, Value, make_node


class NoGrad(Eager):
    """The interpreter inside `no_grad()`: numbers only, results are leaves with no parents."""

    name = "no_grad"

    def apply(self, op: Op, parents: tuple[Value, ...]) -> Value:
        return make_node(op.evaluate(parents), (), None)


NO_GRAD = NoGrad()


@contextmanager
def no_grad() -> Iterator[None]:
    """Inside, Values are computed but no graph is recorded (per thread and per task)."""
    current = RECORDING.get()
    if current is not EAGER and current is not NO_GRAD:
        raise RuntimeError(
            f"no_grad: not available inside {current.name}(), which must record every op"
        )
    token = RECORDING.set(NO_GRAD)
    try:
        yield
    finally:
        RECORDING.reset(token)


def gradients(root: Value, wrt: Sequence[Value], create_graph: bool = False) -> list[Any]:
    """d(root)/d(w) for each w in `wrt` (0 where root does not depend on w); no `.grad` changes."""
    checks.instance(root, Value, "gradients: root", "a Value")
    checks.instance(wrt, Sequence, "gradients: wrt", "a sequence of Values")
    for i, w in enumerate(wrt):
        checks.instance(w, Value, f"gradients: wrt[{i}]", "a Value")
    grads = gradient_map(root, create_graph)
    zero = Value(0.0) if create_graph else 0.0
    return [grads.get(w, zero) for w in wrt]


def _positions(argnums: int | Sequence[int], n_args: int, where: str) -> tuple[int, ...]:
    wanted = tuple(argnums) if isinstance(argnums, Sequence) else (argnums,)
    for i in wanted:
        if (
            not isinstance(i, numbers.Integral)
            or isinstance(i, bool)
            or not -n_args <= int(i) < n_args
        ):
            raise ValueError(
                f"{where}: argnums must name positions among the {n_args} arguments, got {i!r}"
            )
    return tuple(int(i) % n_args for i in wanted)


def value_and_grad(
    f: Callable[..., Value], argnums: int | Sequence[int] = 0
) -> Callable[..., tuple[Any, Any]]:
    """Turn f(Values) -> Value into a function returning (f(args), df/d args[argnums]).

    Called with plain numbers it returns floats. Called with Values (as `grad(grad(f))` does)
    it returns Values that stay connected to them, so the result can be differentiated again.
    """

    @wraps(f)
    def evaluate(*args: Any) -> tuple[Any, Any]:
        positions = _positions(argnums, len(args), "grad")
        nested = any(isinstance(a, Value) for a in args)
        inputs = [a if isinstance(a, Value) else Value(a) for a in args]
        out = f(*inputs)
        if not isinstance(out, Value):
            raise TypeError(f"grad: f must return a Value, got {type(out).__name__} {out!r}")
        found = gradients(out, [inputs[i] for i in positions], create_graph=nested)
        result = out if nested else out.data
        return result, (tuple(found) if isinstance(argnums, Sequence) else found[0])

    return evaluate


def grad(f: Callable[..., Value], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """Turn f(Values) -> Value into a function returning df/d args[argnums]; nests."""
    both = value_and_grad(f, argnums)

    @wraps(f)
    def derivative(*args: Any) -> Any:
        return both(*args)[1]

    return derivative
