"""The rules a worked example's numbers obey, shared by the document and the derivation checker.

A worked example computes quantities named by key, in the notes' order: "a0" (the input), "z1",
"a1", ..., "E" (the loss), then from the last layer down "da2" (∂E/∂a), "fprime2" (f'(z)),
"delta2", "dW2", "db2", ..., and "W1_new", "b1_new", ... with a learning rate. `_rule` recomputes
any of them from the numbers before it by its local rule, in numpy; `_within` is the precision
rule a written number is held to (half a unit in its last written decimal); `_printed` writes
numbers as the document does. The document uses them to choose its digits so that each printed
step follows from the printed numbers before it, the checker to tell a learner's carried slips
from new ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import numpy as np

_SLACK = 1e-9  # float noise allowed on top of half a unit in the last written decimal


@dataclass(frozen=True)
class _Setup:
    """What a worked example is of: the network, the loss, the batch and the given numbers."""

    activations: tuple[str, ...]
    sizes: tuple[int, ...]  # nin, then each layer's nout
    loss: str
    m: int
    single: bool
    lr: float | None
    given: dict[str, np.ndarray]  # W1, b1, ..., t (columns), as the model holds them


# ---- the quantities, by key ----


def _order(setup: _Setup) -> list[str]:
    """Every quantity's key, in the order the notes compute them."""
    n = len(setup.activations)
    keys = ["a0"]
    for li in range(1, n + 1):
        keys += [f"z{li}", f"a{li}"]
    keys.append("E")
    for li in range(n, 0, -1):
        keys += [f"da{li}", f"fprime{li}", f"delta{li}", f"dW{li}", f"db{li}"]
    if setup.lr is not None:
        for li in range(1, n + 1):
            keys += [f"W{li}_new", f"b{li}_new"]
    return keys


def _column_keys(setup: _Setup) -> set[str]:
    """The quantities with a column per sample (vectors for one input)."""
    n = len(setup.activations)
    keys = {"a0", "t"}
    for li in range(1, n + 1):
        keys |= {f"z{li}", f"a{li}", f"da{li}", f"fprime{li}", f"delta{li}"}
    return keys


def _public(key: str, arr: np.ndarray, setup: _Setup) -> np.ndarray:
    """A copy of `arr` in the shape `.numbers` shows: for one input, a column is a 1-D vector."""
    return arr[:, 0].copy() if setup.single and key in _column_keys(setup) else arr.copy()


def _public_index(key: str, index: tuple[int, ...], setup: _Setup) -> tuple[int, ...]:
    """An index into the internal columns, as an index into `_public`'s array."""
    return index[:1] if setup.single and key in _column_keys(setup) else index


def _split(key: str) -> tuple[str, int]:
    """("dW", 2) for "dW2", ("W_new", 1) for "W1_new", ("a", 0) for "a0"."""
    if key.endswith("_new"):
        return key[0] + "_new", int(key[1:-4])
    stem = key.rstrip("0123456789")
    return stem, int(key[len(stem) :]) if key[len(stem) :] else 0


def _inputs(key: str, setup: _Setup) -> list[str]:
    """The quantities `key`'s local rule reads (given ones included: W1, b1, t)."""
    n = len(setup.activations)
    if key == "E":
        return [f"a{n}", "t"]
    family, li = _split(key)
    return {
        "z": [f"W{li}", f"a{li - 1}", f"b{li}"],
        "a": [f"z{li}"],
        "da": [f"a{li}", "t"] if li == n else [f"W{li + 1}", f"delta{li + 1}"],
        "fprime": [f"z{li}", f"a{li}"],
        "delta": [f"da{li}", f"fprime{li}"],
        "dW": [f"delta{li}", f"a{li - 1}"],
        "db": [f"delta{li}"],
        "W_new": [f"W{li}", f"dW{li}"],
        "b_new": [f"b{li}", f"db{li}"],
    }.get(family, [])


# ---- each quantity's local rule, in numpy ----


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


_APPLY: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "linear": lambda z: z,
}
_SLOPE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "sigmoid": lambda z, a: a * (1.0 - a),
    "tanh": lambda z, a: 1.0 - a * a,
    "relu": lambda z, a: (z > 0).astype(float),
    "linear": lambda z, a: np.ones_like(z),
}
_F_TEXT = {"sigmoid": "σ", "tanh": "tanh", "relu": "relu", "linear": ""}
_F_LATEX = {"sigmoid": r"\sigma", "tanh": r"\tanh", "relu": r"\operatorname{relu}", "linear": ""}


def _loss_value(a: np.ndarray, t: np.ndarray, loss: str) -> np.ndarray:
    n, m = a.shape
    with np.errstate(all="ignore"):
        if loss == "half_sse":
            return np.array(0.5 * np.sum((a - t) ** 2) / m)
        if loss == "mse":
            return np.array(np.sum((a - t) ** 2) / (n * m))
        if loss == "bce":
            terms = np.where(t > 0, t * np.log(a), 0.0) + np.where(
                t < 1, (1 - t) * np.log(1 - a), 0
            )
            return np.array(-np.sum(terms) / (n * m))
        top = a.max(axis=0)
        lse = top + np.log(np.exp(a - top).sum(axis=0))
        return np.array(np.sum(lse - (t * a).sum(axis=0)) / m)


def _loss_slope(a: np.ndarray, t: np.ndarray, loss: str) -> np.ndarray:
    n, m = a.shape
    with np.errstate(all="ignore"):
        if loss == "half_sse":
            return (a - t) / m
        if loss == "mse":
            return 2 * (a - t) / (n * m)
        if loss == "bce":
            return (a - t) / (a * (1 - a)) / (n * m)
        e = np.exp(a - a.max(axis=0))
        return (e / e.sum(axis=0) - t) / m


def _rule(key: str, v: Mapping[str, np.ndarray], setup: _Setup) -> np.ndarray | None:
    """`key` recomputed from the numbers in `v` by its own rule; None for the input a0."""
    n = len(setup.activations)
    if key == "E":
        return _loss_value(v[f"a{n}"], v["t"], setup.loss)
    family, li = _split(key)
    act = setup.activations[li - 1] if li else "linear"
    with np.errstate(all="ignore"):
        if family == "z":
            return v[f"W{li}"] @ v[f"a{li - 1}"] + v[f"b{li}"][:, None]
        if family == "a" and li:
            return _APPLY[act](v[f"z{li}"])
        if family == "da":
            if li == n:
                return _loss_slope(v[f"a{li}"], v["t"], setup.loss)
            return v[f"W{li + 1}"].T @ v[f"delta{li + 1}"]
        if family == "fprime":
            return _SLOPE[act](v[f"z{li}"], v[f"a{li}"])
        if family == "delta":
            return v[f"da{li}"] * v[f"fprime{li}"]
        if family == "dW":
            return v[f"delta{li}"] @ v[f"a{li - 1}"].T
        if family == "db":
            return v[f"delta{li}"].sum(axis=1)
        if family == "W_new":
            return v[f"W{li}"] - setup.lr * v[f"dW{li}"]  # type: ignore[operator]
        if family == "b_new":
            return v[f"b{li}"] - setup.lr * v[f"db{li}"]  # type: ignore[operator]
    return None


# ---- numbers as they are written, and the precision they are held to ----


def _written_decimals(text: str) -> int:
    """Decimals of the last written digit of `text` ("-0.1500" has 4, "1.5e-4" has 5)."""
    try:
        exponent = Decimal(text.strip()).as_tuple().exponent
    except InvalidOperation:
        raise ValueError(f"check: a claim must be a number (got {text!r})") from None
    if not isinstance(exponent, int):
        raise ValueError(f"check: a claim must be a finite number (got {text!r})")
    return -exponent


def _within(claimed: np.ndarray, decimals: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Whether each claimed number is `value` at the precision it was written."""
    half = 0.5 * 10.0 ** (-decimals.astype(float))
    with np.errstate(invalid="ignore"):
        return np.abs(claimed - value) <= half * (1 + _SLACK) + _SLACK * np.abs(value)


def _decimals(x: float, precision: int) -> int:
    """`precision` decimals as the notes write them, and two significant digits at least."""
    if x == 0 or not math.isfinite(x):
        return precision
    return min(max(precision, 1 - math.floor(math.log10(abs(x)))), 17)


def _fixed(x: float, decimals: int) -> str:
    """`x` with `decimals` decimals, never "-0.000"."""
    text = f"{x:.{decimals}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def _given(x: float) -> str:
    """A given number (input, weight, target): as short as it is, 6 digits at most."""
    text = np.format_float_positional(x, precision=6, unique=True, fractional=False, trim="-")
    return "0" if text == "-0" else text


def _bracket(text: str) -> str:
    """A written number ready to follow an operator: a negative one in brackets."""
    return f"({text})" if text.startswith("-") else text


def _each(write: Callable[[float], str], arr: np.ndarray) -> np.ndarray:
    """`write` applied to every number of `arr`: an array of strings of the same shape."""
    flat = [write(x) for x in np.asarray(arr, dtype=float).ravel()]
    return np.array(flat, dtype=object).reshape(np.shape(arr))


def _printed(arr: np.ndarray, precision: int) -> np.ndarray:
    """The numbers of a computed quantity as the document writes them."""
    return _each(lambda x: _fixed(x, _decimals(x, precision)), arr)


def _given_grid(arr: np.ndarray) -> np.ndarray:
    """The numbers of a given quantity as the document writes them."""
    return _each(_given, arr)
