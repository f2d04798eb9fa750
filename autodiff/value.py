"""`Value`: a scalar that remembers how it was computed.

`a * b` calls `Value.__mul__`, which hands the op's row (`ops.MUL`) and the operands to `apply`.
While recording (the default) `apply` computes the number and returns a new node holding it, its
parents and its op: a recipe, not a closure, so the graph can be walked, drawn, differentiated
again and replayed over batches. `backward()` (in backward.py) then applies the chain rule.
"""

from __future__ import annotations

import math
from contextvars import ContextVar
from typing import Any, TypeAlias

import autodiff.backward as reverse_mode
from autodiff import ops
from autodiff.checks import as_float, is_real, shown
from autodiff.op import Op, local_derivatives

Operand: TypeAlias = "Value | float"  # a Value or a plain number (an int is fine too)


class Value:
    """A scalar node of a computation graph: its number, gradient, label, parents and op."""

    __slots__ = ("data", "grad", "label", "op", "parents")

    def __init__(self, data: Any, label: str = "", *micrograd_args: Any) -> None:
        if type(label) is not str or micrograd_args:
            raise TypeError(
                f"Value: label must be a str (got {type(label).__name__} {shown(label)}); "
                "Value(data, _children, _op) is micrograd's form: here ops record their parents "
                "themselves (see 'Coming from micrograd' in the README)"
            )
        if type(data) is not float or not math.isfinite(data):
            data = as_float(data, "Value", label)
        self.data: Any = data
        self.grad: Any = 0.0
        self.label = label
        self.parents: tuple[Value, ...] = ()
        self.op: Op | None = None
        RECORDING.get().leaf(self)

    def __repr__(self) -> str:
        grad = self.grad.data if isinstance(self.grad, Value) else self.grad
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={_short(self.data)}, grad={_short(grad)}{label})"

    # Each op is one line that hands its row in the op table and its operands on. One line per
    # op reads as a list.
    # fmt: off
    def __add__(self, other: Operand) -> Value: return binary(ops.ADD, self, other)
    def __radd__(self, other: float) -> Value: return binary(ops.ADD, other, self)
    def __sub__(self, other: Operand) -> Value: return binary(ops.SUB, self, other)
    def __rsub__(self, other: float) -> Value: return binary(ops.SUB, other, self)
    def __mul__(self, other: Operand) -> Value: return binary(ops.MUL, self, other)
    def __rmul__(self, other: float) -> Value: return binary(ops.MUL, other, self)
    def __truediv__(self, other: Operand) -> Value: return binary(ops.DIV, self, other)
    def __rtruediv__(self, other: float) -> Value: return binary(ops.DIV, other, self)
    def __rpow__(self, base: float) -> Value: return binary(ops.RPOW, self, base)
    def __neg__(self) -> Value: return apply(ops.NEG, (self,))
    def __abs__(self) -> Value: return apply(ops.ABS, (self,))
    def exp(self) -> Value: return apply(ops.EXP, (self,))
    def log(self) -> Value: return apply(ops.LOG, (self,))
    def tanh(self) -> Value: return apply(ops.TANH, (self,))
    def sigmoid(self) -> Value: return apply(ops.SIGMOID, (self,))
    def relu(self) -> Value: return apply(ops.RELU, (self,))
    def sqrt(self) -> Value: return apply(ops.SQRT, (self,))
    def abs(self) -> Value: return apply(ops.ABS, (self,))
    def sin(self) -> Value: return apply(ops.SIN, (self,))
    def cos(self) -> Value: return apply(ops.COS, (self,))
    def softplus(self) -> Value: return apply(ops.SOFTPLUS, (self,))
    # fmt: on

    def __pow__(self, exponent: Operand) -> Value:
        if isinstance(exponent, Value):
            return apply(ops.POW_VALUE, (self, exponent))
        return binary(ops.POW, self, exponent)

    def leaky_relu(self, slope: float = 0.01) -> Value:
        return apply(ops.LEAKY_RELU, (self, lift(slope, ops.LEAKY_RELU, "slope")))

    def clamp(self, lo: float, hi: float) -> Value:
        """self held within [lo, hi]; slope 1 inside and on the bounds, 0 beyond (as torch)."""
        bounds = (lift(lo, ops.CLAMP, "lo"), lift(hi, ops.CLAMP, "hi"))
        if not bounds[0].data <= bounds[1].data:
            raise ValueError(f"clamp: expected lo <= hi, got lo={lo!r} and hi={hi!r}")
        return apply(ops.CLAMP, (self, *bounds))

    def backward(self, create_graph: bool = False) -> None:
        """Seed self.grad = 1 and add d(self)/d(node) to `.grad` of every node self depends on."""
        if type(self.data) is not float:
            raise RuntimeError(
                f"backward: not available inside {RECORDING.get().name}(), where numbers are not "
                "known yet; differentiate the recorded tape with Tape.backward() instead"
            )
        reverse_mode.backward(self, create_graph)

    # ---- micrograd's names, so the lecture's manual backpropagation runs as written ----
    @property
    def _prev(self) -> set[Value]:
        return set(self.parents)

    @property
    def _op(self) -> str:
        return self.op.symbol if self.op is not None else ""

    def __getattr__(self, name: str) -> Any:  # only reached for a name Value does not have
        hint = " (micrograd's? see 'Coming from micrograd' in the README)" * name.startswith("_")
        raise AttributeError(f"'Value' object has no attribute {name!r}{hint}")

    def _backward(self) -> None:
        """This node's own chain-rule step: each parent's grad grows by local derivative × grad."""
        for parent, local in zip(self.parents, local_derivatives(self), strict=False):
            parent.grad += local * self.grad


def binary(op: Op, x: Operand, y: Operand) -> Value:
    """`op` on two operands; a plain number on either side becomes a constant leaf."""
    return apply(op, (lift(x, op), lift(y, op)))


def apply(op: Op, parents: tuple[Value, ...]) -> Value:
    """`op` on `parents`, as the current interpreter does it (eager recording by default)."""
    return RECORDING.get().apply(op, parents)


class Eager:
    """Record every result as a node; the default interpreter."""

    name = "recording"

    def apply(self, op: Op, parents: tuple[Value, ...]) -> Value:
        return make_node(op.evaluate(parents), parents, op)

    def leaf(self, value: Value) -> None:
        """Told of every new leaf Value (a tracer tells constants from parameters this way)."""


EAGER = Eager()
RECORDING: ContextVar[Eager] = ContextVar("autodiff_recording", default=EAGER)


def make_node(data: Any, parents: tuple[Value, ...], op: Op | None) -> Value:
    """A node from numbers already checked (faster than Value(), which checks its input)."""
    node = object.__new__(Value)
    node.data = data
    node.grad = 0.0
    node.label = ""
    node.parents = parents
    node.op = op
    return node


def lift(x: Any, op: Op, fixed: str = "") -> Value:
    """A Value for an operand of `op`: itself, or a constant leaf for a plain number.

    A `fixed` parameter of the op (a slope, a bound) must be a plain number: it gets no gradient.
    """
    if isinstance(x, Value) and not fixed:
        return x
    if type(x) is float and math.isfinite(x):  # the usual constant: Value()'s checks are done
        constant = make_node(x, (), None)
        RECORDING.get().leaf(constant)
        return constant
    if type(x) is int or is_real(x):
        return Value(x)
    expected = f"{fixed} must be a plain number" if fixed else "expected a number or a Value"
    raise TypeError(f"{op.name}: {expected}, got {type(x).__name__} {shown(x)}")


def _short(x: Any) -> str:
    """Four significant digits, still reading as a float: 0.5744, 2.0, 1e-08."""
    text = f"{x:.4g}"
    return text if any(c in text for c in ".en<") else text + ".0"
