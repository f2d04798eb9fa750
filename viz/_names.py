"""Names and numbers shared by the drawing and the derivation, so both call a node the same.

`Names` gives every node a graph depends on a name no other node has, in text and in LaTeX;
`find(root, label)` goes the other way, from a label or a name to its node.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

from autodiff import Value, topological_order
from autodiff.checks import shown


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


def visible(label: str) -> str:
    """The label with each control or line-breaking character written as its escape.

    A newline becomes `\\n`, an ANSI escape `\\x1b`, a line separator `\\u2028`: a label can
    neither start a line of its own (and forge one) nor restyle a terminal.
    """
    if label.isprintable():
        return label
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in label)


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
    # `<` straight before a letter, `/`, `!` or `?` opens an HTML tag in Markdown, even in maths
    "<": "<{}",
}


def _base(word: str) -> str:
    return word if len(word) == 1 else rf"\mathrm{{{word}}}"


def _verbatim(text: str) -> str:
    """Any text set upright in LaTeX, character for character (every special one escaped)."""
    return r"\mathrm{" + "".join(_LATEX_SPECIAL.get(c, c) for c in visible(text)) + "}"


def latex_label(label: str) -> str:
    """A label written in LaTeX the way the seeds write it: W1[0,1] becomes W^{[1]}_{0,1}.

    Labels of other shapes are set upright with every LaTeX special character escaped and
    every control character shown as its escape.
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
    return _verbatim(label)


def _looks_like_number(text: str) -> bool:
    """Whether a name could be read as a constant, which is written as its number."""
    try:
        float(text.removeprefix("(").removesuffix(")"))
    except ValueError:
        return False
    return True


def appearance_order(root: Value) -> list[Value]:
    """Every node `root` depends on, as a reader meets them: parents first, left to right.

    This is the order in which code that builds the expression from left to right makes its
    nodes, so the samples of a batch summed in order come in order (the topological order of
    the sweep meets the last one first).
    """
    order: list[Value] = []
    seen: set[Value] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((p, False) for p in reversed(node.parents) if p not in seen)
    return order


class Names:
    """What to call each node of one graph: a name no other node has, in text and in LaTeX.

    A label is its own name when no other node shows the same label; labels shared by several
    nodes (the same `x[0]` made once per sample of a batch) are numbered in the order the nodes
    appear, `x[0]#1`, `x[0]#2`, ... (LaTeX `x_{0}^{(2)}`, the sample superscript). Unlabelled
    results are `t1`, `t2`, ... in order of appearance. An unlabelled leaf is a constant and is
    written as its number, unless it is listed in `named` (the Value being differentiated): that
    is `wrt`, as is a named node outside the graph, which is `label@wrt` when the graph uses
    its label. A name that would equal another one gets primes (`t3'`) until it is free.
    `order` is the graph's topological order (root last); `index` maps a node to its place in
    it, `rank` to its place in the order of appearance.
    """

    def __init__(self, order: Sequence[Value], precision: int = 4, named: Sequence[Value] = ()):
        self.order = order
        self.precision = precision
        self.index = {node: i for i, node in enumerate(order)}
        self.named = set(named)
        nodes = appearance_order(order[-1]) if order else []
        outside = [w for w in named if w not in self.index]
        self.rank = {node: i for i, node in enumerate(nodes)}  # the order of appearance

        by_label: dict[str, list[Value]] = {}
        for node in nodes:
            if node.label:
                by_label.setdefault(visible(node.label), []).append(node)
        taken = set(by_label)
        self._text: dict[Value, str] = {}
        latex: dict[Value, str] = {}

        def claim(node: Value, name: str, tex: str) -> None:
            primes = 0
            while name in taken:
                name, primes = name + "'", primes + 1
            taken.add(name)
            self._text[node] = name
            latex[node] = f"{{{tex}}}" + "'" * primes if primes else tex

        for label, same in by_label.items():
            if len(same) == 1 and not _looks_like_number(label):
                self._text[same[0]], latex[same[0]] = label, latex_label(label)
        for label, same in by_label.items():
            if len(same) > 1 or _looks_like_number(label):
                for k, node in enumerate(same, 1):
                    claim(node, f"{label}#{k}", f"{{{latex_label(label)}}}^{{({k})}}")
        k = 0
        for node in nodes:
            if node.op is not None and not node.label:
                k += 1
                claim(node, f"t{k}", f"t_{{{k}}}")
            elif node in self.named and not node.label:  # an unlabelled leaf to differentiate by
                claim(node, "wrt", r"\mathrm{wrt}")
        for node in outside:  # a Value to differentiate by that root does not depend on
            if not node.label:
                claim(node, "wrt", r"\mathrm{wrt}")
            elif visible(node.label) in taken:
                tex = rf"{{{latex_label(node.label)}}}^{{@\mathrm{{wrt}}}}"
                claim(node, f"{visible(node.label)}@wrt", tex)
            else:
                claim(node, visible(node.label), latex_label(node.label))

        # distinct labels can look alike in LaTeX (x1 and x[1] are both x_{1}): those are
        # written character for character instead, which tells them apart as their text does
        seen: dict[str, list[Value]] = {}
        for node, tex in latex.items():
            seen.setdefault(tex, []).append(node)
        for alike in seen.values():
            if len(alike) > 1:
                for node in alike:
                    latex[node] = _verbatim(self._text[node])
        self._latex = latex
        self._by_name = {name: node for node, name in self._text.items()}

    def is_constant(self, node: Value) -> bool:
        return not node.label and node.op is None and node not in self.named

    def is_generated(self, node: Value) -> bool:
        return not node.label and not self.is_constant(node)

    def node(self, name: str) -> Value | None:
        """The node called `name`, or None."""
        return self._by_name.get(name)

    def text(self, node: Value, bracket_negative: bool = True) -> str:
        """The node's name in plain text; a negative constant in brackets unless told not to."""
        if node in self._text:
            return self._text[node]
        if self.is_constant(node):
            shown = number(node.data, self.precision)
            return f"({shown})" if bracket_negative and shown.startswith("-") else shown
        return visible(node.label) if node.label else "?"

    def latex(self, node: Value) -> str:
        """The node's name in LaTeX."""
        if node in self._latex:
            return self._latex[node]
        if self.is_constant(node):
            shown = latex_number(node.data, self.precision)
            return f"({shown})" if shown.startswith("-") else shown
        return latex_label(node.label) if node.label else "?"


def _listed(names: Sequence[str], limit: int = 6) -> str:
    """Up to `limit` names, quoted, and how many more there are."""
    text = ", ".join(shown(name) for name in names[:limit])
    more = len(names) - limit
    return f"{text} and {more:,} more" if more > 0 else text


def find(root: Value, label: str) -> Value:
    """The node labelled `label` that `root` depends on (root included), e.g. to read its grad.

    `label` may also be a name `explain` and `draw_graph` print: `x[0]#2` (the second node
    labelled `x[0]`), `t3` (an unlabelled result). A label shared by several nodes is refused
    with a LookupError listing their names; a label nowhere in the graph is a KeyError listing
    labels that are there.
    """
    require_value(root, "find", "root")
    if not isinstance(label, str):
        raise TypeError(f"find: label must be a str (got {type(label).__name__} {shown(label)})")
    order = topological_order(root)
    matches = [node for node in order if node.label == label]
    if len(matches) == 1:
        return matches[0]
    names = Names(order)
    if matches:
        rank = {node: i for i, node in enumerate(appearance_order(root))}
        matches.sort(key=rank.__getitem__)
        raise LookupError(
            f"find: {len(matches):,} values that root depends on are labelled {shown(label)}; "
            f"ask for one by its name: {_listed([names.text(node) for node in matches])}"
        )
    node = names.node(label)
    if node is not None:
        return node
    labels = list(dict.fromkeys(n.label for n in appearance_order(root) if n.label))
    close = difflib.get_close_matches(label, labels, n=3)
    hint = f"; did you mean {_listed(close)}?" if close else ""
    there = f"labels there: {_listed(labels)}" if labels else "no node there has a label"
    raise KeyError(f"find: root depends on no value labelled {shown(label)} ({there}){hint}")
