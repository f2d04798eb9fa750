"""Checks at the library's boundary: names from a list, sizes, whole numbers in a range, finite
numbers, vectors, matrices, arrays of real numbers, random seeds.

Each check returns the cleaned value or raises an error whose message has one form,
`{where} must be {expected} (got {what came})`, so every module (`nn`, `viz`, the tape, the
examples) reports a bad argument the same way. Use these instead of writing a check again.
"""

from __future__ import annotations

import math
import numbers
import reprlib
from collections.abc import Iterable
from typing import Any

import numpy as np

_SHORT = reprlib.Repr()  # containers cut to a few items, so a huge list is never printed whole
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxtuple, _SHORT.maxdict = 2, 4, 4, 4
_SHORT.maxstring = _SHORT.maxother = 40
_MAX_DIGITS = 1000  # a longer int is described, not written (Python refuses past 4300 digits)


def shown(x: Any) -> str:
    """repr(x) cut to 40 characters, for the "(got ...)" part of a message; it never fails.

    A message about a bad argument must not fail itself: a huge int, a huge container or a
    broken __repr__ is described instead of printed.
    """
    if isinstance(x, int) and x.bit_length() > _MAX_DIGITS * math.log2(10):
        sign = "a negative" if x < 0 else "an"
        return f"{sign} int of about {x.bit_length() * math.log10(2):.0f} digits"
    try:
        text = _SHORT.repr(x)
    except Exception:  # reprlib covers a raising __repr__; this covers anything it lets through
        return f"<{type(x).__name__} object>"
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
    if all(type(x) is float and math.isfinite(x) for x in items):
        return items  # already clean (a fresh list): the common case, checked quickly
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
        raise OverflowError(f"{where}: {shown(data)} is too large for a float") from None
    if not math.isfinite(number):
        raise ValueError(f"{where}: expected a finite number, got {number}{labelled(label)}")
    return number


def instance(x: Any, kind: type | tuple[type, ...], where: str, expected: str) -> Any:
    """`x` if it is an instance of `kind`, else a TypeError naming what was expected and came."""
    if not isinstance(x, kind):
        raise TypeError(f"{where} must be {expected} (got {type(x).__name__} {shown(x)})")
    return x


_REAL_KINDS = "iuf"  # numpy's signed and unsigned integers and floats


def real_array(X: Any, where: str, ndim: int | None = None) -> np.ndarray:
    """`X` as a float array of finite real numbers, with `ndim` axes when given.

    Conversions that would lose or invent information are refused with a TypeError rather than
    made silently: complex numbers (the imaginary part would be dropped), masked arrays (the mask
    would be ignored), dates, strings (even numeric ones), bools (True is a slip, as in `number`;
    `X.astype(float)` says it on purpose) and objects that are not real numbers.
    """
    if isinstance(X, np.ma.MaskedArray):
        raise TypeError(
            f"{where} must be an array of real numbers (got a masked array; fill it first, "
            "e.g. X.filled(0.0), or drop the masked rows)"
        )
    try:
        array = np.asarray(X)
    except (TypeError, ValueError) as error:  # ragged rows, unsized objects
        raise TypeError(f"{where} must be an array of real numbers ({error})") from None
    kind = array.dtype.kind
    if kind == "O":
        for item in array.ravel():
            if isinstance(item, bool) or not isinstance(item, numbers.Real):
                raise TypeError(
                    f"{where} must be an array of real numbers "
                    f"(got {type(item).__name__} {shown(item)} among them)"
                )
    elif kind not in _REAL_KINDS:
        what = "strings" if kind in "US" else f"{array.dtype}"
        hint = "; convert on purpose with .astype(float)" if kind in "bUS" else ""
        raise TypeError(f"{where} must be an array of real numbers (got an array of {what}){hint}")
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{where} must be a {ndim}-d array (got shape {array.shape})")
    try:
        with np.errstate(over="ignore"):  # a huge int becomes inf here and is refused below
            array = array.astype(float)
    except OverflowError:  # a Python int past the float range, in an object array
        raise ValueError(f"{where} must be finite (got an int beyond the float range)") from None
    finite = np.isfinite(array)
    if not finite.all():
        where_bad = tuple(int(i) for i in np.argwhere(~finite)[0])
        position = where_bad[0] if len(where_bad) == 1 else where_bad
        raise ValueError(f"{where} must be finite (got {array[where_bad]} at {position})")
    return array


def seed(x: Any, where: str) -> int | np.random.Generator | None:
    """`x` as a random seed: an int >= 0, a numpy Generator or None (fresh randomness)."""
    if x is None or isinstance(x, np.random.Generator):
        return x
    if isinstance(x, bool | np.bool_) or not isinstance(x, numbers.Integral) or x < 0:
        raise ValueError(f"{where} must be an int >= 0, a numpy Generator or None (got {shown(x)})")
    return int(x)


def is_real(x: Any) -> bool:
    """True for a real number other than a bool: numpy scalars and 0-d arrays count."""
    if isinstance(x, np.ndarray) and x.ndim == 0:
        x = x[()]
    return isinstance(x, numbers.Real) and not isinstance(x, bool | np.bool_)


def integer(n: Any, where: str, lo: int | None = None, hi: int | None = None) -> int:
    """`n` as an int from `lo` to `hi` (either end open when None); bools and floats are refused."""
    if isinstance(n, bool | np.bool_) or not isinstance(n, numbers.Integral):
        raise ValueError(f"{where} must be an int (got {type(n).__name__} {shown(n)})")
    value = int(n)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        if hi is None:
            expected = f"an int >= {lo}"
        elif lo is None:
            expected = f"an int <= {hi}"
        else:
            expected = f"an int from {lo} to {hi}"
        raise ValueError(f"{where} must be {expected} (got {shown(n)})")
    return value
