"""The table of primitive operations: each op's value and local derivatives, declared once.

A row says how to compute an op on floats (`fn`) and on numpy batches (`vfn`), its local
derivative with respect to each input (`local`, written in plain arithmetic on the inputs and
the output so that the same rule runs on floats, on Values for gradients of gradients, and on
numpy arrays for the batched tape), where it is defined (`domain`), and how `explain` writes the
derivative. Adding an op means adding one row here and one method line on `Value`.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class DomainRule:
    """Where an op is undefined: `bad(*inputs)` is true (elementwise on arrays) off the domain."""

    arg: int  # which input the message reports
    bad: Callable[..., Any]
    error: type[Exception]
    expected: str


@dataclass(frozen=True, eq=False)
class Op:
    """One primitive: value, local derivatives and their written forms, side by side.

    `local(*inputs, out)` returns one partial derivative per differentiable input. The last
    `consts` inputs are fixed parameters of the op (an exponent, a slope): they get no
    derivative and are passed as plain numbers when a gradient is built out of Values.
    `text` and `latex` are templates per input, in the names `{x}`, `{y}` (the inputs) and
    `{out}` (the result); n-ary ops give a `describe` function instead.
    """

    name: str
    symbol: str
    fn: Callable[..., float]
    vfn: Callable[..., Any]
    local: Callable[..., tuple[Any, ...]]
    text: tuple[str, ...] = ()
    latex: tuple[str, ...] = ()
    domain: tuple[DomainRule, ...] = ()
    consts: int = 0
    describe_fn: Callable[[int, Sequence[str], str], tuple[str, str]] | None = None

    def describe(self, i: int, names: Sequence[str], out: str) -> tuple[str, str]:
        """The derivative of this op's output with respect to input `i`, as (text, LaTeX)."""
        if self.describe_fn is not None:
            return self.describe_fn(i, names, out)
        slots = {"x": names[0], "y": names[1] if len(names) > 1 else "", "out": out}
        return self.text[i].format(**slots), self.latex[i].format(**slots)

    def __repr__(self) -> str:
        return f"Op({self.name!r})"


# Local derivatives are written once and run on floats, on numpy arrays (the tape) and on Values
# (gradients of gradients). Arithmetic works on all three; these two helpers cover the rest.


def _smooth(x: Any, on_float: Callable[[float], float], on_array: Any, method: str) -> Any:
    """A smooth function of x: `on_float`, `on_array`, or the Value method that records it."""
    if isinstance(x, np.ndarray):
        return on_array(x)
    if isinstance(x, float | int):
        return on_float(x)
    return getattr(x, method)()


def _piecewise(x: Any, on_array: Any, on_float: Callable[[float], float]) -> Any:
    """A piecewise-constant slope of x, read from its number (for a Value, a constant)."""
    if isinstance(x, np.ndarray):
        return on_array(x)
    return on_float(x if isinstance(x, float | int) else x.data)


def _log(x: Any) -> Any:
    """log x for the rule d(x**y)/dy = out·log x; where x = 0, out = 0 and the product is 0."""
    if isinstance(x, np.ndarray):
        return np.log(np.where(x > 0, x, 1.0))
    positive = (x if isinstance(x, float | int) else x.data) > 0
    return _smooth(x, math.log, np.log, "log") if positive else 0.0


def _step(x: Any) -> Any:
    """relu's slope: 1 where x > 0, else 0 (0 at the kink, as PyTorch)."""
    return _piecewise(x, lambda a: (a > 0).astype(float), lambda v: 1.0 if v > 0 else 0.0)


def _sign(x: Any) -> Any:
    """abs's slope: the sign of x, 0 at 0."""
    return _piecewise(x, np.sign, lambda v: float((v > 0) - (v < 0)))


def _leaky_step(x: Any, slope: float) -> Any:
    """leaky_relu's slope: 1 where x > 0, else `slope`."""
    return _piecewise(x, lambda a: np.where(a > 0, 1.0, slope), lambda v: 1.0 if v > 0 else slope)


def _inside(x: Any, lo: Any, hi: Any) -> Any:
    """clamp's slope: 1 within the bounds (on them too, as torch.clamp), 0 beyond them."""
    return _piecewise(
        x, lambda a: ((a >= lo) & (a <= hi)).astype(float), lambda v: 1.0 if lo <= v <= hi else 0.0
    )


def _sigmoid(x: float) -> float:
    # exp of a non-positive number never overflows; the two branches are the same function
    e = math.exp(-abs(x))
    return 1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e)


def _vsigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _vsoftplus(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _power_slope(x: Any, n: Any) -> Any:
    """n·x^(n-1), and 0 where n = 0: x^0 is constant even at x = 0, where 0^-1 is undefined."""
    if isinstance(n, np.ndarray):
        return np.where(n == 0, 0.0, n * x ** (n - 1))
    return n * x ** (n - 1) if n != 0 else 0.0


def _value_power_slope(x: Any, y: Any) -> Any:
    """y·x^(y-1) for a Value exponent; at x = 0 (where y > 0) the power is 0^(y-1), a constant."""
    if isinstance(x, np.ndarray | float | int) or x.data != 0:
        return y * x ** (y - 1)
    return y * 0.0 ** (y.data - 1)  # 1 when y = 1, else 0 (y < 1 is infinite, caught later)


def _is_fraction(n: Any) -> Any:
    return n % 1 != 0


# ---- n-ary ops: a sum of many terms, and a neuron's weighted sum, each as one node ----


def _sum(*xs: float) -> float:
    total = 0.0
    for x in xs:
        total += x
    return total


def _describe_sum(i: int, names: Sequence[str], out: str) -> tuple[str, str]:
    return "1", "1"


def _linear(*args: Any) -> Any:
    """b + w_1 x_1 + ... + w_n x_n, inputs laid out as (w_1..w_n, x_1..x_n, b)."""
    n = len(args) // 2
    return sum(map(operator.mul, args[:n], args[n : 2 * n]), args[-1])


def _linear_local(*args: Any) -> tuple[Any, ...]:
    n = (len(args) - 1) // 2  # the last argument is the output
    return (*args[n : 2 * n], *args[:n], 1.0)


def _logsumexp(*xs: float) -> float:
    top = max(xs)
    return top + math.log(math.fsum(math.exp(x - top) for x in xs))


def _vlogsumexp(*xs: np.ndarray) -> np.ndarray:
    stacked = np.stack(np.broadcast_arrays(*xs))
    top = stacked.max(axis=0)
    return top + np.log(np.exp(stacked - top).sum(axis=0))


def _logsumexp_local(*args: Any) -> tuple[Any, ...]:
    *xs, out = args
    return tuple(
        _smooth(x - out, math.exp, np.exp, "exp") for x in xs
    )  # softmax: each term's share of the sum


def _describe_logsumexp(i: int, names: Sequence[str], out: str) -> tuple[str, str]:
    return f"exp({names[i]} - {out})", f"e^{{{names[i]} - {out}}}"


def _describe_linear(i: int, names: Sequence[str], out: str) -> tuple[str, str]:
    n = len(names) // 2
    if i == 2 * n:
        return "1", "1"
    pair = names[i + n] if i < n else names[i - n]
    return pair, pair


ADD = Op(
    "add",
    "+",
    operator.add,
    np.add,
    lambda x, y, out: (1.0, 1.0),
    text=("1", "1"),
    latex=("1", "1"),
)
SUB = Op(
    "sub",
    "-",
    operator.sub,
    np.subtract,
    lambda x, y, out: (1.0, -1.0),
    text=("1", "-1"),
    latex=("1", "-1"),
)
MUL = Op(
    "mul",
    "*",
    operator.mul,
    np.multiply,
    lambda x, y, out: (y, x),
    text=("{y}", "{x}"),
    latex=("{y}", "{x}"),
)
DIV = Op(
    "div",
    "/",
    operator.truediv,
    np.divide,
    lambda x, y, out: (1.0 / y, -out / y),
    text=("1/{y}", "-{out}/{y}"),
    latex=(r"\frac{{1}}{{{y}}}", r"-\frac{{{out}}}{{{y}}}"),
    domain=(DomainRule(1, lambda x, y: y == 0, ZeroDivisionError, "a nonzero divisor"),),
)
NEG = Op("neg", "-", operator.neg, np.negative, lambda x, out: (-1.0,), text=("-1",), latex=("-1",))
POW = Op(
    "pow",
    "**",
    lambda x, n: x**n,
    np.power,
    lambda x, n, out: (_power_slope(x, n),),
    text=("{y}·{x}^({y}-1)",),
    latex=(r"{y}\,{{{x}}}^{{{y}-1}}",),
    consts=1,
    domain=(
        DomainRule(
            0,
            lambda x, n: (x == 0) & (n < 0),
            ZeroDivisionError,
            "a nonzero base for a negative exponent",
        ),
        DomainRule(
            0,
            lambda x, n: (x < 0) & _is_fraction(n),
            ValueError,
            "a non-negative base for a non-integer exponent",
        ),
    ),
)
POW_VALUE = Op(
    "pow",
    "**",
    lambda x, y: x**y,
    np.power,
    lambda x, y, out: (_value_power_slope(x, y), out * _log(x)),
    text=("{y}·{x}^({y}-1)", "{out}·log {x}"),
    latex=(r"{y}\,{{{x}}}^{{{y}-1}}", r"{out}\,\log {x}"),
    domain=(
        DomainRule(
            0,
            lambda x, y: (x < 0) | ((x == 0) & (y <= 0)),
            ValueError,
            "a positive base when the exponent is a Value (use a plain-number exponent)",
        ),
    ),
)
EXP = Op(
    "exp", "exp", math.exp, np.exp, lambda x, out: (out,), text=("exp({x})",), latex=(r"e^{{{x}}}",)
)
LOG = Op(
    "log",
    "log",
    math.log,
    np.log,
    lambda x, out: (1.0 / x,),
    text=("1/{x}",),
    latex=(r"\frac{{1}}{{{x}}}",),
    domain=(DomainRule(0, lambda x: x <= 0, ValueError, "x > 0"),),
)
TANH = Op(
    "tanh",
    "tanh",
    math.tanh,
    np.tanh,
    lambda x, out: (1.0 - out * out,),
    text=("1 - {out}²",),
    latex=("1 - {{{out}}}^2",),
)
SIGMOID = Op(
    "sigmoid",
    "σ",
    _sigmoid,
    _vsigmoid,
    lambda x, out: (out * (1.0 - out),),
    text=("{out}(1 - {out})",),
    latex=(r"{out}(1 - {out})",),
)
RELU = Op(
    "relu",
    "relu",
    lambda x: x if x > 0 else 0.0,
    lambda x: np.maximum(x, 0.0),
    lambda x, out: (_step(x),),
    text=("1 if {x} > 0 else 0",),
    latex=(r"\mathbb{{1}}[{x} > 0]",),
)
LEAKY_RELU = Op(
    "leaky_relu",
    "lrelu",
    lambda x, s: x if x > 0 else s * x,
    lambda x, s: np.where(x > 0, x, s * x),
    lambda x, s, out: (_leaky_step(x, s),),
    text=("1 if {x} > 0 else {y}",),
    latex=(r"1 \text{{ or }} {y}",),
    consts=1,
)
CLAMP = Op(
    "clamp",
    "clamp",
    lambda x, lo, hi: min(max(x, lo), hi),
    np.clip,
    lambda x, lo, hi, out: (_inside(x, lo, hi),),
    text=("1 if {x} is within the bounds else 0",),
    latex=(r"\mathbb{{1}}[\text{{inside}}]",),
    consts=2,
)
SQRT = Op(
    "sqrt",
    "√",
    math.sqrt,
    np.sqrt,
    lambda x, out: (0.5 / out,),
    text=("1/(2·{out})",),
    latex=(r"\frac{{1}}{{2 {out}}}",),
    domain=(DomainRule(0, lambda x: x < 0, ValueError, "x >= 0"),),
)
ABS = Op(
    "abs",
    "abs",
    abs,
    np.abs,
    lambda x, out: (_sign(x),),
    text=("sign({x})",),
    latex=(r"\operatorname{{sign}}({x})",),
)
SIN = Op(
    "sin",
    "sin",
    math.sin,
    np.sin,
    lambda x, out: (_smooth(x, math.cos, np.cos, "cos"),),
    text=("cos({x})",),
    latex=(r"\cos {x}",),
)
COS = Op(
    "cos",
    "cos",
    math.cos,
    np.cos,
    lambda x, out: (-_smooth(x, math.sin, np.sin, "sin"),),
    text=("-sin({x})",),
    latex=(r"-\sin {x}",),
)
SOFTPLUS = Op(
    "softplus",
    "softplus",
    _softplus,
    _vsoftplus,
    lambda x, out: (_smooth(x, _sigmoid, _vsigmoid, "sigmoid"),),
    text=("σ({x})",),
    latex=(r"\sigma({x})",),
)
SUM = Op("sum", "Σ", _sum, _sum, lambda *args: (1.0,) * (len(args) - 1), describe_fn=_describe_sum)
LOGSUMEXP = Op(
    "logsumexp",
    "logΣexp",
    _logsumexp,
    _vlogsumexp,
    _logsumexp_local,
    describe_fn=_describe_logsumexp,
)
LINEAR = Op("linear", "Σw·x+b", _linear, _linear, _linear_local, describe_fn=_describe_linear)

OPS: tuple[Op, ...] = (
    ADD,
    SUB,
    MUL,
    DIV,
    NEG,
    POW,
    POW_VALUE,
    EXP,
    LOG,
    TANH,
    SIGMOID,
    RELU,
    LEAKY_RELU,
    CLAMP,
    SQRT,
    ABS,
    SIN,
    COS,
    SOFTPLUS,
    SUM,
    LOGSUMEXP,
    LINEAR,
)
