"""`Value`, a scalar that records how it was computed, and the recording itself.

Each result of an op is a node holding its number, its parents (a tuple, in argument order) and
a reference to its row in the op table: a recipe, not a closure, so the graph can be walked,
drawn, differentiated again and replayed over numpy batches.
"""

from __future__ import annotations

import math
import numbers
from contextvars import ContextVar
from typing import Any

import numpy as np

from autodiff import ops
from autodiff.ops import Op

Number = int | float


class _Traced:
    """Stands for a number not known while `trace` records: any use of it as a number fails.

    A traced function must compute with Value operations only; reading `.data` to branch or
    to call math functions would bake one row's choice into the tape for every row.
    """

    __slots__ = ()

    def _refuse(self, *_: object) -> Any:
        raise TypeError(
            "trace: the function used the number inside a traced Value (.data); a traced "
            "function must use Value operations only, since the tape replays one graph for "
            "every row"
        )

    __bool__ = __float__ = __int__ = __index__ = _refuse
    __lt__ = __le__ = __gt__ = __ge__ = __eq__ = __ne__ = _refuse
    __hash__ = None  # type: ignore[assignment]  # equal-or-not is also a question about data
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __pow__ = __rpow__ = __neg__ = __abs__ = _refuse

    def __format__(self, spec: str) -> str:
        return "<traced>"

    def __repr__(self) -> str:
        return "<traced>"


TRACED = _Traced()


class _NoGrad:
    """The recording mode inside `no_grad()`."""


NO_GRAD = _NoGrad()

# None: record graphs; NO_GRAD: compute numbers only; otherwise the active trace's recorder,
# which is told about every leaf Value created while it records.
MODE: ContextVar[Any] = ContextVar("autodiff_mode", default=None)


def _short(x: Any) -> str:
    """Four significant digits, still reading as a float: 0.5744, 2.0, 1e-08."""
    text = f"{x:.4g}"
    return text if any(c in text for c in ".en<") else text + ".0"


def labelled(label: str) -> str:
    """The tail an error message gives a labelled Value: ` (label 'a1')`, or nothing."""
    return f" (label {label!r})" if label else ""


def _shown(datas: list[Any], parents: tuple[Value, ...], limit: int = 4) -> str:
    """An op's first few inputs for a message, with their labels, and how many more there were."""
    text = ", ".join(
        f"{d!r}{labelled(p.label)}" for d, p in zip(datas[:limit], parents, strict=False)
    )
    return text + (f", ... ({len(datas) - limit} more)" if len(datas) > limit else "")


def as_float(data: Any, where: str, label: str = "") -> float:
    """`data` as a finite Python float, or a TypeError/ValueError that says what came."""
    if type(data) is not float:
        if isinstance(data, np.ndarray) and data.ndim == 0:
            data = data[()]
        if not isinstance(data, numbers.Real) or isinstance(data, bool | np.bool_):
            raise TypeError(
                f"{where}: expected a real number (int, float or numpy scalar), "
                f"got {type(data).__name__} {data!r}"
            )
        try:
            data = float(data)
        except OverflowError:
            digits = len(str(abs(data)))
            raise OverflowError(
                f"{where}: an int of {digits} digits is too large for a float"
            ) from None
    if data - data != 0.0:
        raise ValueError(f"{where}: expected a finite number, got {data}{labelled(label)}")
    return data


class Value:
    """A scalar node of a computation graph: its number, gradient, label, parents and op."""

    __slots__ = ("data", "grad", "label", "op", "parents")

    def __init__(self, data: Any, label: str = "") -> None:
        if type(label) is not str:
            raise TypeError(f"Value: label must be a str, got {type(label).__name__} {label!r}")
        if type(data) is not float or data - data != 0.0:
            data = as_float(data, "Value", label)
        self.data: Any = data
        self.grad: Any = 0.0
        self.label = label
        self.parents: tuple[Value, ...] = ()
        self.op: Op | None = None
        mode = MODE.get()
        if mode is not None and mode is not NO_GRAD:
            mode.created(self)

    def __repr__(self) -> str:
        grad = self.grad.data if isinstance(self.grad, Value) else self.grad
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={_short(self.data)}, grad={_short(grad)}{label})"

    # ---- arithmetic: numbers on either side become constant leaves ----
    def __add__(self, other: Value | Number) -> Value:
        return apply(ops.ADD, (self, _operand(other, ops.ADD)))

    def __radd__(self, other: Number) -> Value:
        return apply(ops.ADD, (_operand(other, ops.ADD), self))

    def __sub__(self, other: Value | Number) -> Value:
        return apply(ops.SUB, (self, _operand(other, ops.SUB)))

    def __rsub__(self, other: Number) -> Value:
        return apply(ops.SUB, (_operand(other, ops.SUB), self))

    def __mul__(self, other: Value | Number) -> Value:
        return apply(ops.MUL, (self, _operand(other, ops.MUL)))

    def __rmul__(self, other: Number) -> Value:
        return apply(ops.MUL, (_operand(other, ops.MUL), self))

    def __truediv__(self, other: Value | Number) -> Value:
        return apply(ops.DIV, (self, _operand(other, ops.DIV)))

    def __rtruediv__(self, other: Number) -> Value:
        return apply(ops.DIV, (_operand(other, ops.DIV), self))

    def __pow__(self, exponent: Value | Number) -> Value:
        if isinstance(exponent, Value):
            return apply(ops.POW_VALUE, (self, exponent))
        return apply(ops.POW, (self, _operand(exponent, ops.POW)))

    def __rpow__(self, base: Number) -> Value:
        return apply(ops.POW_VALUE, (_operand(base, ops.POW_VALUE), self))

    def __neg__(self) -> Value:
        return apply(ops.NEG, (self,))

    def __abs__(self) -> Value:
        return apply(ops.ABS, (self,))

    # ---- elementary functions ----
    def exp(self) -> Value:
        return apply(ops.EXP, (self,))

    def log(self) -> Value:
        return apply(ops.LOG, (self,))

    def tanh(self) -> Value:
        return apply(ops.TANH, (self,))

    def sigmoid(self) -> Value:
        return apply(ops.SIGMOID, (self,))

    def relu(self) -> Value:
        return apply(ops.RELU, (self,))

    def leaky_relu(self, slope: float = 0.01) -> Value:
        return apply(ops.LEAKY_RELU, (self, _fixed(slope, ops.LEAKY_RELU, "slope")))

    def clamp(self, lo: float, hi: float) -> Value:
        """self held within [lo, hi]; slope 1 inside and on the bounds, 0 beyond (as torch)."""
        bounds = (_fixed(lo, ops.CLAMP, "lo"), _fixed(hi, ops.CLAMP, "hi"))
        if not bounds[0].data <= bounds[1].data:
            raise ValueError(f"clamp: expected lo <= hi, got lo={lo!r} and hi={hi!r}")
        return apply(ops.CLAMP, (self, *bounds))

    def sqrt(self) -> Value:
        return apply(ops.SQRT, (self,))

    def abs(self) -> Value:
        return apply(ops.ABS, (self,))

    def sin(self) -> Value:
        return apply(ops.SIN, (self,))

    def cos(self) -> Value:
        return apply(ops.COS, (self,))

    def softplus(self) -> Value:
        return apply(ops.SOFTPLUS, (self,))

    def backward(self, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(node) into `.grad` of every node `self` depends on."""
        from autodiff.backward import backward

        backward(self, create_graph=create_graph)


def _operands(values: Any, op: Op) -> tuple[Value, ...]:
    """A tuple of Values from an iterable of Values and numbers (fast when all are Values)."""
    terms = tuple(values)
    if set(map(type, terms)) <= {Value}:
        return terms
    return tuple(_operand(v, op) for v in terms)


def _fixed(x: Any, op: Op, name: str) -> Value:
    """An op's fixed parameter (a slope, a bound): a plain number, never differentiated."""
    if isinstance(x, Value):
        raise TypeError(
            f"{op.name}: {name} must be a plain number, got a Value; it is a fixed parameter "
            "and would get no gradient"
        )
    return _operand(x, op)


def _operand(x: Any, op: Op) -> Value:
    """A Value for an operand: itself, or a constant leaf for a plain number."""
    if isinstance(x, Value):
        return x
    if type(x) is float and x - x == 0.0 and MODE.get() is None:
        return _node(x, (), None)  # Value(x) without its checks, already done
    if type(x) is int and -(2**53) <= x <= 2**53 and MODE.get() is None:
        return _node(float(x), (), None)  # exactly representable: no check can fail
    if type(x) is float or type(x) is int:
        return Value(x)
    if isinstance(x, np.ndarray) and x.ndim == 0:
        x = x[()]
    if not isinstance(x, numbers.Real) or isinstance(x, bool | np.bool_):
        raise TypeError(f"{op.name}: expected a number or a Value, got {type(x).__name__} {x!r}")
    return Value(x)


def _node(data: Any, parents: tuple[Value, ...], op: Op | None) -> Value:
    node = _new(Value)
    node.data = data
    node.grad = 0.0
    node.label = ""
    node.parents = parents
    node.op = op
    return node


_new = object.__new__


def evaluate(op: Op, datas: list[float], parents: tuple[Value, ...]) -> float:
    """The op's number for these inputs, or the error the user should see instead."""
    for rule in op.domain:
        if rule.bad(*datas):
            label = labelled(parents[rule.arg].label)
            raise rule.error(f"{op.name}: expected {rule.expected}, got {datas[rule.arg]!r}{label}")
    try:
        out = op.fn(*datas)
    except OverflowError:
        out = math.inf
    if out - out != 0.0:
        raise OverflowError(
            f"{op.name}: result overflows a float for input {_shown(datas, parents)}"
        )
    return out


def apply(op: Op, parents: tuple[Value, ...]) -> Value:
    """Compute `op` on `parents` and record the result as a node (unless recording is off)."""
    # the common case inline: recording, no domain to check, a finite result
    if not op.domain and MODE.get() is None:
        try:
            if len(parents) == 2:
                out = op.fn(parents[0].data, parents[1].data)
            else:
                out = op.fn(*[p.data for p in parents])
        except OverflowError:
            out = math.inf
        if out - out == 0.0:
            return _node(out, parents, op)
    mode = MODE.get()
    if mode is None:
        return _node(evaluate(op, [p.data for p in parents], parents), parents, op)
    if mode is NO_GRAD:
        return _node(evaluate(op, [p.data for p in parents], parents), (), None)
    if any(p.data is TRACED for p in parents):
        return _node(TRACED, parents, op)
    return _node(evaluate(op, [p.data for p in parents], parents), parents, op)


def sum_values(values: Any) -> Value:
    """The sum of many Values (or numbers) as one node: flat, however many terms."""
    terms = _operands(values, ops.SUM)
    if not terms:
        raise ValueError("sum_values: expected at least one term, got none")
    return apply(ops.SUM, terms)


def logsumexp(values: Any) -> Value:
    """log Σ exp(v) as one node, computed stably: the heart of softmax cross-entropy."""
    terms = _operands(values, ops.LOGSUMEXP)
    if not terms:
        raise ValueError("logsumexp: expected at least one term, got none")
    return apply(ops.LOGSUMEXP, terms)


def linear(weights: Any, inputs: Any, bias: Value | Number = 0.0) -> Value:
    """b + Σ w_i·x_i as one node: a neuron's weighted sum, the seeds' z = w·x + b."""
    ws = _operands(weights, ops.LINEAR)
    xs = _operands(inputs, ops.LINEAR)
    if len(ws) != len(xs):
        raise ValueError(
            f"linear: expected as many weights as inputs, got {len(ws)} weights "
            f"and {len(xs)} inputs"
        )
    return apply(ops.LINEAR, (*ws, *xs, _operand(bias, ops.LINEAR)))
