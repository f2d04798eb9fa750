"""What a row of the op table (`autodiff.ops`) holds: value, derivatives and their written forms."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from autodiff.checks import labelled

Form = tuple[str, ...] | Callable[..., str]
"""Templates (text, then LaTeX if it differs), or for n-ary ops a function writing them."""


@dataclass(frozen=True)
class Rule:
    """Where an op is undefined: `bad(*inputs)` is true (elementwise on arrays) off the domain."""

    arg: int  # which input the message reports
    bad: Callable[..., Any]
    error: type[Exception]
    expected: str


@dataclass(frozen=True, eq=False)
class Op:
    """One primitive: its value, local derivatives and how both are written, side by side.

    `local(*inputs, out)` returns one partial derivative per differentiable input. The last
    `consts` inputs are fixed parameters (an exponent, a slope, a bound): they get no derivative
    and stay plain numbers when a gradient is built out of Values. Ops are compared by identity.
    """

    name: str
    symbol: str
    fn: Callable[..., float]
    vfn: Callable[..., Any]
    local: Callable[..., tuple[Any, ...]]
    form: Form
    says: Form
    says_latex: tuple[str, ...] = ()
    domain: tuple[Rule, ...] = ()
    consts: int = 0

    def evaluate(self, parents: Sequence[Any]) -> float:
        """This op on its parents' numbers, or the error the user should see instead."""
        datas = [p.data for p in parents]
        for rule in self.domain:
            if rule.bad(*datas):
                got = f"{datas[rule.arg]!r}{labelled(parents[rule.arg].label)}"
                raise rule.error(f"{self.name}: expected {rule.expected}, got {got}")
        try:
            out = self.fn(*datas)
        except OverflowError:  # math.exp raises where numpy returns inf: report both alike
            out = math.inf
        if not math.isfinite(out):
            for d, p in zip(datas, parents, strict=True):
                if not math.isfinite(d):  # only a .data set by hand can be NaN or infinite
                    raise ValueError(
                        f"{self.name}: expected finite inputs, got {d!r}{labelled(p.label)}"
                    )
            inputs = ", ".join(
                f"{d!r}{labelled(p.label)}" for d, p in zip(datas[:4], parents[:4], strict=True)
            )
            more = f", ... ({len(datas) - 4} more)" if len(datas) > 4 else ""
            raise OverflowError(f"{self.name}: result overflows a float for input {inputs}{more}")
        return out

    def expression(self, args: Sequence[str], latex: bool = False) -> str:
        """The forward computation written out: `expression(["a", "b"])` of mul is `a * b`."""
        if callable(self.form):
            return self.form(args, latex)
        return self.form[-1 if latex else 0].format(*args)

    def describe(self, i: int, names: Sequence[str], out: str) -> tuple[str, str]:
        """The derivative of the output with respect to input `i`, as (text, LaTeX)."""
        if callable(self.says):
            return self.says(i, names, out, False), self.says(i, names, out, True)
        text = self.says[i].format(*names, out=out)
        latex = (self.says_latex or self.says)[i].format(*names, out=out)
        return text, latex

    def __repr__(self) -> str:
        return f"Op({self.name!r})"


def local_derivatives(node: Any, as_values: bool = False) -> tuple[Any, ...]:
    """d(node)/d(parent) for each parent but the op's fixed parameters (its last `consts`),
    from the op's row; `as_values` builds them from Values, for gradients of gradients."""
    op = node.op
    if op is None:
        return ()
    if not as_values:
        return op.local(*[p.data for p in node.parents], node.data)
    split = len(node.parents) - op.consts
    fixed = [p.data for p in node.parents[split:]]
    return op.local(*node.parents[:split], *fixed, node)
