"""Names and numbers shared by the drawing and the derivation, so both call a node the same."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from autodiff import Value


def require_value(x: Any, where: str, what: str) -> Value:
    """`x` itself if it is a Value, else a TypeError that says what came."""
    if not isinstance(x, Value):
        raise TypeError(f"{where}: {what} must be a Value, got {type(x).__name__} {x!r}")
    return x


def require_precision(precision: Any, where: str) -> int:
    if not isinstance(precision, int) or isinstance(precision, bool) or not 1 <= precision <= 17:
        raise ValueError(
            f"{where}: precision must be an int from 1 to 17 (significant digits), "
            f"got {precision!r}"
        )
    return precision


def number(x: Any, precision: int = 4) -> str:
    """A compact number: `precision` significant digits, no trailing zeros, never '-0'."""
    if isinstance(x, Value):  # a gradient made with create_graph=True
        x = x.data
    if not isinstance(x, int | float):
        return str(x)
    text = f"{x:.{precision}g}"
    return "0" if text == "-0" else text


def latex_number(x: Any, precision: int = 4) -> str:
    """`number` in LaTeX: 1.5e-05 becomes 1.5 \\times 10^{-5}."""
    text = number(x, precision)
    if text in ("inf", "-inf"):
        return text.replace("inf", r"\infty")
    if text == "nan":
        return r"\mathrm{NaN}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text


_SUPERSCRIPT_INDEX = re.compile(r"([A-Za-z]+)(\d+)\[(\d+(?:,\s*\d+)*)\]")  # W1[0,1], z2[0]
_INDEXED = re.compile(r"([A-Za-z]+)\[(\d+(?:,\s*\d+)*)\]")  # x[0]
_LETTER_DIGITS = re.compile(r"([A-Za-z])(\d+)")  # w11, z1
_WORD = re.compile(r"[A-Za-z]+")
_LATEX_SPECIAL = {
    "\\": r"\backslash{}",
    "{": r"\{",
    "}": r"\}",
    "_": r"\_",
    "#": r"\#",
    "%": r"\%",
    "&": r"\&",
    "$": r"\$",
    "^": r"\hat{}",
    "~": r"\sim{}",
    " ": r"\ ",
    "\n": r"\ ",
    "\r": r"\ ",
    "\t": r"\ ",
}


def _base(word: str) -> str:
    return word if len(word) == 1 else rf"\mathrm{{{word}}}"


def latex_label(label: str) -> str:
    """A label written in LaTeX the way the seeds write it: W1[0,1] becomes W^{[1]}_{0,1}.

    Labels of other shapes are set upright with every LaTeX special character escaped.
    """
    if match := _SUPERSCRIPT_INDEX.fullmatch(label):
        word, layer, index = match.groups()
        return f"{_base(word)}^{{[{layer}]}}_{{{index.replace(' ', '')}}}"
    if match := _INDEXED.fullmatch(label):
        word, index = match.groups()
        return f"{_base(word)}_{{{index.replace(' ', '')}}}"
    if match := _LETTER_DIGITS.fullmatch(label):
        letter, digits = match.groups()
        return f"{letter}_{{{digits}}}"
    if _WORD.fullmatch(label):
        return _base(label)
    escaped = "".join(_LATEX_SPECIAL.get(c, c) for c in label)
    return rf"\mathrm{{{escaped}}}"


class Names:
    """What to call each node of one graph, by its position in the topological order.

    A labelled node is called by its label, with `@position` added when several nodes share
    it (`@wrt` for a node outside the graph whose label the graph uses); an unlabelled result
    is `t<position>`; an unlabelled leaf is a constant and is written as its number, unless it
    is listed in `named` (the Value being differentiated), which is then `t<position>`, or
    `wrt` when it is not in the graph at all.
    """

    def __init__(self, order: Sequence[Value], precision: int = 4, named: Sequence[Value] = ()):
        self.order = order
        self.precision = precision
        self.index = {node: i for i, node in enumerate(order)}
        self.named = set(named)
        counts: dict[str, int] = {}
        for node in order:
            if node.label:
                counts[node.label] = counts.get(node.label, 0) + 1
        self._shared = {label for label, n in counts.items() if n > 1}
        # a generated name never equals a label: primes are added until it is free
        self._taken = set(counts)

    def is_constant(self, node: Value) -> bool:
        return not node.label and node.op is None and node not in self.named

    def is_generated(self, node: Value) -> bool:
        return not node.label and not self.is_constant(node)

    def _position(self, node: Value) -> int | None:
        """The node's place in the topological order; None for a node outside the graph
        (a wrt that root does not depend on)."""
        return self.index.get(node)

    def _tagged(self, node: Value) -> bool:
        """Whether a labelled node needs `@position` to tell it from another with its label."""
        if node not in self.index:
            return node.label in self._taken
        return node.label in self._shared

    def _generated(self, node: Value) -> str:
        i = self._position(node)
        name = "wrt" if i is None else f"t{i}"
        while name in self._taken:
            name += "'"
        return name

    def text(self, node: Value, bracket_negative: bool = True) -> str:
        """The node's name in plain text; a negative constant in brackets unless told not to."""
        if node.label:
            if self._tagged(node):
                i = self._position(node)
                return f"{node.label}@{'wrt' if i is None else i}"
            return node.label
        if self.is_constant(node):
            shown = number(node.data, self.precision)
            return f"({shown})" if bracket_negative and shown.startswith("-") else shown
        return self._generated(node)

    def latex(self, node: Value) -> str:
        """The node's name in LaTeX."""
        i = self._position(node)
        position = r"\mathrm{wrt}" if i is None else str(i)
        if node.label:
            name = latex_label(node.label)
            return rf"{{{name}}}^{{@{position}}}" if self._tagged(node) else name
        if self.is_constant(node):
            shown = latex_number(node.data, self.precision)
            return f"({shown})" if shown.startswith("-") else shown
        generated = self._generated(node)
        primes = len(generated) - len(generated.rstrip("'"))
        return (position if i is None else f"t_{{{i}}}") + "'" * primes
