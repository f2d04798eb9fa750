"""The table of primitive operations: each op's value and local derivatives, declared once.

A row gives an op's name and symbol, how to compute it on floats (`fn`) and on numpy batches
(`vfn`), its local derivative with respect to each input (`local`, in plain arithmetic on the
inputs and the output `out`, so that one rule runs on floats, on Values for gradients of
gradients, and on numpy arrays for the batched tape), where it is defined (`domain`), and how
people read it: the forward expression (`form`) and each derivative (`says`, `says_latex`), with
`{0}`, `{1}`, ... for the inputs and `{out}` for the result. Adding an op means one row here and
one method line on `Value`.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autodiff.op import Op, Rule

# Aligned rows read best as a table; the formatter would give every field a line of its own.
# fmt: off
ADD = Op("add", "+", fn=operator.add, vfn=np.add,
         local=lambda x, y, out: (1.0, 1.0),
         form=("{0} + {1}",), says=("1", "1"))
SUB = Op("sub", "-", fn=operator.sub, vfn=np.subtract,
         local=lambda x, y, out: (1.0, -1.0),
         form=("{0} - {1}",), says=("1", "-1"))
MUL = Op("mul", "*", fn=operator.mul, vfn=np.multiply,
         local=lambda x, y, out: (y, x),
         form=("{0} · {1}", r"{0} \cdot {1}"), says=("{1}", "{0}"))
DIV = Op("div", "/", fn=operator.truediv, vfn=np.divide,
         local=lambda x, y, out: (1.0 / y, -out / y),
         form=("{0} / {1}", r"\frac{{{0}}}{{{1}}}"),
         says=("1/{1}", "-{out}/{1}"), says_latex=(r"\frac{{1}}{{{1}}}", r"-\frac{{{out}}}{{{1}}}"),
         domain=(Rule(1, lambda x, y: y == 0, ZeroDivisionError, "a nonzero divisor"),))
NEG = Op("neg", "-", fn=operator.neg, vfn=np.negative,
         local=lambda x, out: (-1.0,),
         form=("-{0}",), says=("-1",))
POW = Op("pow", "**", fn=operator.pow, vfn=np.power,  # x ** n, n a plain number
         local=lambda x, n, out: (_power_slope(x, n),),
         form=("{0} ^ {1}", "{{{0}}}^{{{1}}}"),
         says=("{1}·{0}^({1}-1)",), says_latex=(r"{1}\,{{{0}}}^{{{1}-1}}",), consts=1,
         domain=(Rule(0, lambda x, n: (x == 0) & (n < 0), ZeroDivisionError,
                      "a nonzero base for a negative exponent"),
                 Rule(0, lambda x, n: (x < 0) & (n % 1 != 0), ValueError,
                      "a non-negative base for a non-integer exponent")))
POW_VALUE = Op("pow_value", "**", fn=operator.pow, vfn=np.power,  # x ** y, both Values
         local=lambda x, y, out: (_value_power_slope(x, y), out * _log(x)),
         form=("{0} ^ {1}", "{{{0}}}^{{{1}}}"),
         says=("{1}·{0}^({1}-1)", "{out}·log {0}"),
         says_latex=(r"{1}\,{{{0}}}^{{{1}-1}}", r"{out}\,\log {0}"),
         domain=(Rule(0, lambda x, y: (x < 0) | ((x == 0) & (y <= 0)), ValueError,
                      "a positive base (or 0 with an exponent > 0) for a Value exponent"),))
RPOW = Op("rpow", "**", fn=lambda y, c: c**y, vfn=lambda y, c: np.power(c, y),  # c ** y, c fixed
         local=lambda y, c, out: (out * _log(c),),
         form=("{1} ^ {0}", "{{{1}}}^{{{0}}}"),
         says=("{out}·log {1}",), says_latex=(r"{out}\,\log {1}",), consts=1,
         domain=(Rule(1, lambda y, c: (c < 0) | ((c == 0) & (y <= 0)), ValueError,
                      "a positive base (or 0 with an exponent > 0) for a Value exponent"),))
EXP = Op("exp", "exp", fn=math.exp, vfn=np.exp,
         local=lambda x, out: (out,),
         form=("exp({0})", "e^{{{0}}}"), says=("exp({0})",), says_latex=("e^{{{0}}}",))
LOG = Op("log", "log", fn=math.log, vfn=np.log,
         local=lambda x, out: (1.0 / x,),
         form=("log({0})", r"\log\left({0}\right)"),
         says=("1/{0}",), says_latex=(r"\frac{{1}}{{{0}}}",),
         domain=(Rule(0, lambda x: x <= 0, ValueError, "x > 0"),))
TANH = Op("tanh", "tanh", fn=math.tanh, vfn=np.tanh,
         local=lambda x, out: (1.0 - out * out,),
         form=("tanh({0})", r"\tanh\left({0}\right)"),
         says=("1 - {out}²",), says_latex=("1 - {{{out}}}^2",))
SIGMOID = Op("sigmoid", "σ", fn=lambda x: _sigmoid(x), vfn=lambda x: _vsigmoid(x),
         local=lambda x, out: (out * (1.0 - out),),
         form=("σ({0})", r"\sigma\left({0}\right)"), says=("{out}(1 - {out})",))
RELU = Op("relu", "relu", fn=lambda x: x if x > 0 else 0.0, vfn=lambda x: np.maximum(x, 0.0),
         local=lambda x, out: (_step(x),),
         form=("relu({0})", r"\operatorname{{relu}}\left({0}\right)"),
         says=("1 if {0} > 0 else 0",), says_latex=(r"\mathbb{{1}}[{0} > 0]",))
LEAKY_RELU = Op("leaky_relu", "lrelu", fn=lambda x, s: x if x > 0 else s * x,
         vfn=lambda x, s: np.where(x > 0, x, s * x),
         local=lambda x, s, out: (_leaky_step(x, s),),
         form=("lrelu({0}, {1})", r"\operatorname{{lrelu}}\left({0}, {1}\right)"),
         says=("1 if {0} > 0 else {1}",), says_latex=(r"1 \text{{ or }} {1}",), consts=1)
CLAMP = Op("clamp", "clamp", fn=lambda x, lo, hi: min(max(x, lo), hi), vfn=np.clip,
         local=lambda x, lo, hi, out: (_inside(x, lo, hi),),
         form=("clamp({0}, {1}, {2})", r"\operatorname{{clamp}}\left({0}, {1}, {2}\right)"),
         says=("1 if {0} is within the bounds else 0",),
         says_latex=(r"\mathbb{{1}}[\text{{inside}}]",), consts=2)
SQRT = Op("sqrt", "√", fn=math.sqrt, vfn=np.sqrt,
         local=lambda x, out: (0.5 / out,),
         form=("√({0})", r"\sqrt{{{0}}}"),
         says=("1/(2·{out})",), says_latex=(r"\frac{{1}}{{2 {out}}}",),
         domain=(Rule(0, lambda x: x < 0, ValueError, "x >= 0"),))
ABS = Op("abs", "abs", fn=abs, vfn=np.abs,
         local=lambda x, out: (_sign(x),),
         form=("|{0}|", r"\left|{0}\right|"),
         says=("sign({0})",), says_latex=(r"\operatorname{{sign}}({0})",))
SIN = Op("sin", "sin", fn=math.sin, vfn=np.sin,
         local=lambda x, out: (_smooth(x, "cos"),),
         form=("sin({0})", r"\sin\left({0}\right)"), says=("cos({0})",), says_latex=(r"\cos {0}",))
COS = Op("cos", "cos", fn=math.cos, vfn=np.cos,
         local=lambda x, out: (-_smooth(x, "sin"),),
         form=("cos({0})", r"\cos\left({0}\right)"),
         says=("-sin({0})",), says_latex=(r"-\sin {0}",))
SOFTPLUS = Op("softplus", "softplus", fn=lambda x: _softplus(x), vfn=lambda x: _vsoftplus(x),
         local=lambda x, out: (_smooth(x, "sigmoid"),),
         form=("softplus({0})", r"\operatorname{{softplus}}\left({0}\right)"),
         says=("σ({0})",), says_latex=(r"\sigma({0})",))
SUM = Op("sum", "Σ", fn=lambda *xs: _sum(xs), vfn=lambda *xs: _sum(xs),  # n terms, one node
         local=lambda *args: (1.0,) * (len(args) - 1),
         form=lambda args, latex: " + ".join(args), says=lambda i, names, out, latex: "1")
LOGSUMEXP = Op("logsumexp", "logΣexp", fn=lambda *xs: _logsumexp(xs),  # its slopes: softmax
         vfn=lambda *xs: _vlogsumexp(xs),
         local=lambda *args: tuple(_smooth(x - args[-1], "exp") for x in args[:-1]),
         form=lambda args, latex: _logsumexp_form(args, latex),
         says=lambda i, names, out, latex: _logsumexp_says(names[i], out, latex))
LINEAR = Op("linear", "Σw·x+b", fn=lambda *args: _linear(args),  # inputs (w1..wn, x1..xn, b)
         vfn=lambda *args: _linear(args),
         local=lambda *args: _linear_local(args),
         form=lambda args, latex: _linear_form(args, latex),
         says=lambda i, names, out, latex: _linear_says(i, names))
SOFTMAX_CE = Op("softmax_ce", "softmax CE", fn=lambda *args: _softmax_ce(args),  # (z1..zn, t1..tn)
         vfn=lambda *args: _vsoftmax_ce(args),
         local=lambda *args: _softmax_ce_local(args),
         form=lambda args, latex: _softmax_ce_form(args, latex),
         says=lambda i, names, out, latex: _softmax_ce_says(i, names, latex))
# fmt: on

OPS: tuple[Op, ...] = (
    ADD, SUB, MUL, DIV, NEG, POW, POW_VALUE, RPOW, EXP, LOG, TANH, SIGMOID, RELU, LEAKY_RELU,
    CLAMP, SQRT, ABS, SIN, COS, SOFTPLUS, SUM, LOGSUMEXP, LINEAR, SOFTMAX_CE,
)  # fmt: skip


# ---- helpers of the rows ----
# A local derivative runs on floats, on numpy arrays (the tape) and on Values (gradients of
# gradients). Arithmetic works on all three; these helpers cover the rest.


def _smooth(x: Any, name: str) -> Any:
    """A smooth function of x (exp, sin, cos, sigmoid, log) on a float, an array or a Value."""
    if isinstance(x, np.ndarray):
        return _ON_ARRAYS[name](x)
    if isinstance(x, float | int):
        return _ON_FLOATS[name](x)
    return getattr(x, name)()


def _piecewise(x: Any, on_array: Any, on_float: Any) -> Any:
    """A piecewise-constant slope of x, read from its number (for a Value, a constant)."""
    if isinstance(x, np.ndarray):
        return on_array(x)
    return on_float(x if isinstance(x, float | int) else x.data)


def _log(x: Any) -> Any:
    """log x for the rule d(x**y)/dy = out·log x; where x = 0, out = 0 and the product is 0."""
    if isinstance(x, np.ndarray):
        return np.log(np.where(x > 0, x, 1.0))
    positive = (x if isinstance(x, float | int) else x.data) > 0
    return (math.log(x) if isinstance(x, float | int) else x.log()) if positive else 0.0


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


_ON_FLOATS: dict[str, Callable[[float], float]] = {
    "exp": math.exp,
    "sin": math.sin,
    "cos": math.cos,
    "sigmoid": _sigmoid,
    "log": math.log,
}
_ON_ARRAYS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "exp": np.exp,
    "sin": np.sin,
    "cos": np.cos,
    "sigmoid": _vsigmoid,
    "log": np.log,
}


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


def _sum(xs: Sequence[Any]) -> Any:
    total = xs[0]
    for x in xs[1:]:
        total = total + x
    return total


def _logsumexp(xs: Sequence[float]) -> float:
    top = max(xs)
    return top + math.log(math.fsum(math.exp(x - top) for x in xs))


def _vlogsumexp(xs: Sequence[np.ndarray]) -> np.ndarray:
    stacked = np.stack(np.broadcast_arrays(*xs))
    top = stacked.max(axis=0)
    return top + np.log(np.exp(stacked - top).sum(axis=0))


def _logsumexp_form(args: Sequence[str], latex: bool) -> str:
    if latex:
        return rf"\operatorname{{logsumexp}}\left({', '.join(args)}\right)"
    return f"logsumexp({', '.join(args)})"


def _logsumexp_says(name: str, out: str, latex: bool) -> str:
    return f"e^{{{name} - {out}}}" if latex else f"exp({name} - {out})"


def _linear(args: Sequence[Any]) -> Any:
    """b + w_1 x_1 + ... + w_n x_n, from inputs laid out as (w_1..w_n, x_1..x_n, b)."""
    n = len(args) // 2
    return sum(map(operator.mul, args[:n], args[n : 2 * n]), args[-1])


def _linear_local(args: Sequence[Any]) -> tuple[Any, ...]:
    n = (len(args) - 1) // 2  # the last argument is the output
    return (*args[n : 2 * n], *args[:n], 1.0)


def _linear_form(args: Sequence[str], latex: bool) -> str:
    n = len(args) // 2
    times = r" \, " if latex else "·"
    return " + ".join([f"{args[i]}{times}{args[n + i]}" for i in range(n)] + [args[-1]])


def _linear_says(i: int, names: Sequence[str]) -> str:
    """dz/dw_i is x_i, dz/dx_i is w_i, dz/db is 1."""
    n = len(names) // 2
    if i == 2 * n:
        return "1"
    return names[i + n] if i < n else names[i - n]


def _softmax_ce(args: Sequence[float]) -> float:
    """Σ_k t_k (logsumexp(z) - z_k) from inputs (z_1..z_n, t_1..t_n), each term shifted by the
    largest logit m: (m - z_k) + log Σ_i exp(z_i - m). Terms of weight 0 are left out, so a
    logit too far below the rest to matter costs nothing rather than 0·inf."""
    n = len(args) // 2
    zs, ts = args[:n], args[n:]
    top = max(zs)
    log_total = math.log(math.fsum(math.exp(z - top) for z in zs))
    return sum((t * ((top - z) + log_total) for z, t in zip(zs, ts, strict=True) if t), 0.0)


def _vsoftmax_ce(args: Sequence[np.ndarray]) -> np.ndarray:
    n = len(args) // 2
    stacked = _stacked(args)
    zs, ts = stacked[:n], stacked[n:]
    shifted = zs - zs.max(axis=0)
    gaps = np.log(np.exp(shifted).sum(axis=0)) - shifted
    return (ts * np.where(ts != 0.0, gaps, 0.0)).sum(axis=0)


def _stacked(xs: Sequence[np.ndarray]) -> np.ndarray:
    """Arrays as one, along a new first axis: at once when their shapes agree (a batch's rows,
    the tape's usual case), else broadcast first (a constant column beside them)."""
    if len({x.shape for x in xs}) == 1:
        return np.array(xs)
    return np.stack(np.broadcast_arrays(*xs))


def _vgaps(shifted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """From logits shifted by their largest, z - m: softmax(z) and logsumexp(z) - z per row."""
    e = np.exp(shifted)
    total = e.sum(axis=0)
    return e / total, np.log(total) - shifted


def _softmax_ce_local(args: Sequence[Any]) -> tuple[Any, ...]:
    """dL/dz_i = softmax(z)_i · Σ_k t_k - t_i, and dL/dt_k = logsumexp(z) - z_k, both from the
    logits shifted by the largest, m: exp(z_i - m) / Σ exp(z_j - m) and (m - z_k) + log Σ
    exp(z_j - m). Neither overflows, and neither goes through logsumexp(z) itself (nor `out`),
    whose rounding near 1e16 is larger than log 2."""
    n = (len(args) - 1) // 2  # the last argument is the output
    if isinstance(args[0], np.ndarray):
        stacked = _stacked(args[: 2 * n])
        shares, gaps = _vgaps(stacked[:n] - stacked[:n].max(axis=0))
        weights = stacked[n:]
        return (*(shares * weights.sum(axis=0) - weights), *gaps)
    zs, ts = args[:n], args[n : 2 * n]
    # on Values m is the logit with the largest number, so the rule stays differentiable
    top = max(zs, key=lambda z: z if isinstance(z, float | int) else z.data)
    e = [_smooth(z - top, "exp") for z in zs]
    total = _sum(e)
    log_total = _smooth(total, "log")
    weight = _sum(ts)
    return (
        *(x / total * weight - t for x, t in zip(e, ts, strict=True)),
        *((top - z) + log_total for z in zs),
    )


def _softmax_ce_form(args: Sequence[str], latex: bool) -> str:
    n = len(args) // 2
    logits, targets = ", ".join(args[:n]), ", ".join(args[n:])
    if latex:
        return rf"\operatorname{{softmax\_ce}}\left({logits}; {targets}\right)"
    return f"softmax_ce({logits}; {targets})"


def _softmax_ce_says(i: int, names: Sequence[str], latex: bool) -> str:
    """dL/dz_i = exp(z_i - logsumexp(z))·(t_1 + ... + t_n) - t_i; dL/dt_k = logsumexp(z) - z_k."""
    n = len(names) // 2
    lse = _logsumexp_form(names[:n], latex)
    if i >= n:
        return f"{lse} - {names[i - n]}"
    weight = " + ".join(names[n:])
    if latex:
        return rf"e^{{{names[i]} - {lse}}} \left({weight}\right) - {names[n + i]}"
    return f"exp({names[i]} - {lse})·({weight}) - {names[n + i]}"
