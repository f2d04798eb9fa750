"""Checks at the library's boundary: names from a list, sizes, finite numbers, vectors, matrices.

Each check returns the cleaned value or raises a ValueError whose message has one form,
`{where} must be {expected} (got {what came})`, so every module (`nn`, `viz`, the tape, the
examples) reports a bad argument the same way. Use these instead of writing a check again.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np


def shown(x: Any) -> str:
    """repr(x) cut to 40 characters, for the "(got ...)" part of a message; never fails."""
    try:
        text = repr(x)
    except ValueError:  # an int past Python's digit limit for str()
        text = f"<{type(x).__name__} too large to print>"
    return text if len(text) <= 40 else text[:37] + "..."


def one_of(name: Any, choices: Iterable[str], where: str) -> str:
    """`name` if it is one of `choices`; the error lists the valid ones."""
    choices = tuple(choices)
    if not isinstance(name, str) or name not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{where} must be one of {valid} (got {shown(name)})")
    return name


def size(n: Any, where: str) -> int:
    """`n` as a positive int (bools and floats are refused: 2.0 units is a slip, not a size)."""
    if isinstance(n, bool | np.bool_) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"{where} must be a positive int (got {shown(n)})")
    return int(n)


def number(x: Any, where: str) -> float:
    """`x` as a finite float; bools, strings, None, NaN and infinities are refused."""
    if isinstance(x, bool | np.bool_) or not isinstance(x, numbers.Real):
        raise ValueError(f"{where} must be a number (got {type(x).__name__} {shown(x)})")
    try:
        value = float(x)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise ValueError(f"{where} must be a finite number (got {shown(x)})")
    return value


def _sequence(obj: Any, where: str) -> list[Any]:
    if isinstance(obj, np.ndarray):
        return obj.tolist() if obj.ndim > 0 else [obj.item()]
    if not isinstance(obj, list | tuple):
        raise ValueError(f"{where} must be a list or numpy array (got {type(obj).__name__})")
    return list(obj)


def vector(obj: Any, length: int | None, where: str) -> list[float]:
    """A flat list of finite floats, of `length` entries when given."""
    if isinstance(obj, np.ndarray) and obj.ndim != 1:
        raise ValueError(f"{where} must be a vector (got an array of shape {obj.shape})")
    items = _sequence(obj, where)
    if length is not None and len(items) != length:
        raise ValueError(f"{where} must have {length} entries (got {len(items)})")
    return [number(x, f"{where}[{i}]") for i, x in enumerate(items)]


def matrix(obj: Any, shape: tuple[int | None, int | None], where: str) -> list[list[float]]:
    """Rows of finite floats, nout x nin; a None in `shape` takes the size found."""
    if isinstance(obj, np.ndarray) and obj.ndim != 2:
        raise ValueError(f"{where} must be a 2-D nout x nin array (got shape {obj.shape})")
    rows = _sequence(obj, where)
    nout, nin = shape
    if not rows or (nout is not None and len(rows) != nout):
        expected = "at least one" if nout is None else str(nout)
        raise ValueError(f"{where} must have {expected} rows (got {len(rows)})")
    if nin is None:  # the first row, a list, tuple or 1-D array, sets the width
        nin = len(vector(rows[0], None, f"{where}[0]"))
    if not nin:
        raise ValueError(f"{where}[0] must be a non-empty row of numbers (got {shown(rows[0])})")
    return [vector(row, nin, f"{where}[{j}]") for j, row in enumerate(rows)]


def labelled(label: str) -> str:
    """The tail an error message gives a labelled Value: ` (label 'a1')`, or nothing."""
    return f" (label {shown(label)})" if label else ""


def as_float(data: Any, where: str, label: str = "") -> float:
    """`data` as a finite Python float, or a TypeError/ValueError/OverflowError that says what came.

    Values store plain floats: numpy scalars and ints are converted, bools are refused (True is
    rarely meant as 1.0 here), and so are NaN and infinities, which would poison every gradient.
    """
    if isinstance(data, np.ndarray) and data.ndim == 0:
        data = data[()]
    if not isinstance(data, numbers.Real) or isinstance(data, bool | np.bool_):
        raise TypeError(
            f"{where}: expected a real number (int, float or numpy scalar), "
            f"got {type(data).__name__} {shown(data)}"
        )
    try:
        number = float(data)
    except OverflowError:
        digits = int(data.bit_length() * math.log10(2)) + 1  # str() of a huge int fails too
        raise OverflowError(
            f"{where}: an int of about {digits} digits is too large for a float"
        ) from None
    if not math.isfinite(number):
        raise ValueError(f"{where}: expected a finite number, got {number}{labelled(label)}")
    return number


def instance(x: Any, kind: type | tuple[type, ...], where: str, expected: str) -> Any:
    """`x` if it is an instance of `kind`, else a TypeError naming what was expected and came."""
    if not isinstance(x, kind):
        raise TypeError(f"{where} must be {expected} (got {type(x).__name__} {shown(x)})")
    return x
