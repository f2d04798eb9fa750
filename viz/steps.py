"""The backward sweep step by step: each node's complete gradient and what it passes on.

`backward_steps(root)` lists the nodes in the order `backward` applies the chain rule to them,
root first: each step holds the node, its gradient (complete when the sweep reaches it, since
every node that uses it came earlier) and one contribution per parent, `local x grad`, which
is added to that parent's gradient. It computes everything in a dict of its own and changes no
`.grad`. `str()` is a text table and `.markdown()` a Markdown table, grouped by layer when the
labels carry one (`z2[0]`, `W2[0,1]` are layer 2).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from autodiff import Value, local_derivatives, topological_order
from viz._names import Names, number, require_precision, require_value

MAX_STEPS = 60
_LAYER = re.compile(r"[A-Za-z]+(\d+)\[")  # the layer of the seeds' labels: z2[0], W2[0,1]


class Contribution(NamedTuple):
    """What one step adds to one parent's gradient: `amount = local * grad`."""

    parent: Value
    local: float
    amount: float


@dataclass(frozen=True, eq=False)
class Step:
    """One node of the sweep: its name, its complete gradient, what it passes to each parent.

    A leaf passes nothing on (`contributions` is empty); it is listed once its gradient is
    complete, right after the last step that adds to it.
    """

    node: Value
    name: str
    grad: float
    contributions: tuple[Contribution, ...]


def _printable(text: str) -> str:
    """`text` on one line: control characters (newlines, ANSI escapes) written as escapes."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


_MARKDOWN_SPECIAL = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "|": "\\|",
    "\\": "\\\\",
    "`": "\\`",
    "*": "\\*",
    "_": "\\_",
    "[": "\\[",
    "]": "\\]",
    "$": "\\$",
    "#": "\\#",
}


def _markdown_cell(text: str) -> str:
    """`text` as literal characters in a Markdown table cell: no tags, no emphasis, no maths."""
    return "".join(_MARKDOWN_SPECIAL.get(c, c) for c in _printable(text))


def _layer(node: Value) -> str | None:
    match = _LAYER.match(node.label)
    return match.group(1) if match else None


class BackwardSteps(list[Step]):
    """The steps of one backward sweep, root first; `str()` and `.markdown()` are tables.

    It is a list of `Step`s. The tables show the first `max_steps` steps and then say how many
    more there are.
    """

    def __init__(
        self, root: Value, steps: Iterable[Step], names: Names, max_steps: int = MAX_STEPS
    ) -> None:
        super().__init__(steps)
        self.root = root
        self.max_steps = max_steps
        self._names = names

    def __repr__(self) -> str:
        return f"<BackwardSteps of {self._name(self.root)}: {len(self)} steps>"

    def _name(self, node: Value) -> str:
        return _printable(self._names.text(node))

    def _number(self, x: Any) -> str:
        return number(x, self._names.precision)

    def _rows(self, max_steps: int) -> tuple[list[tuple[str | None, list[list[str]]]], int]:
        """The shown steps as (layer heading or None, rows of cells) and how many are left."""
        groups: list[tuple[str | None, list[list[str]]]] = []
        layer: str | None = None
        for i, step in enumerate(self[:max_steps], 1):
            now = _layer(step.node) or layer
            if now != layer or not groups:
                groups.append((None if now is None else f"layer {now}", []))
                layer = now
            first = [str(i), self._name(step.node), self._number(step.grad)]
            if not step.contributions:
                groups[-1][1].append([*first, "(leaf)", "", ""])
            for k, (parent, local, amount) in enumerate(step.contributions):
                cells = first if k == 0 else ["", "", ""]
                row = [self._name(parent), self._number(local), self._number(amount)]
                groups[-1][1].append(cells + row)
        return groups, max(0, len(self) - max_steps)

    def _title(self) -> str:
        n = len(self)
        return (
            f"Backward sweep of {self._name(self.root)}: {n} step{'s' * (n != 1)}, root first; "
            "each node passes local × grad to each parent"
        )

    def __str__(self) -> str:
        header = ["step", "node", "grad", "to parent", "local", "amount"]
        groups, more = self._rows(self.max_steps)
        rows = [row for _, group in groups for row in group]
        widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]

        def line(cells: list[str]) -> str:
            numeric = (0, 2, 4, 5)
            parts = [
                c.rjust(w) if k in numeric else c.ljust(w)
                for k, (c, w) in enumerate(zip(cells, widths, strict=True))
            ]
            return "  ".join(parts).rstrip()

        lines = [self._title(), line(header), "  ".join("-" * w for w in widths)]
        for heading, group in groups:
            if heading is not None:
                lines.append(f"-- {heading} --")
            lines += [line(row) for row in group]
        if more:
            lines.append(f"... {more} more step{'s' * (more != 1)} (raise max_steps to see them)")
        return "\n".join(lines)

    def markdown(self, max_steps: int | None = None) -> str:
        """The sweep as a Markdown table (GitHub and Jupyter render it), a row per contribution."""
        groups, more = self._rows(self.max_steps if max_steps is None else max_steps)
        lines = [
            _markdown_cell(self._title()),
            "",
            "| step | node | grad | to parent | local | amount |",
            "|---:|:---|---:|:---|---:|---:|",
        ]
        for heading, group in groups:
            if heading is not None:
                lines.append(f"| | **{heading}** | | | | |")
            for row in group:
                lines.append("| " + " | ".join(_markdown_cell(c) for c in row) + " |")
        if more:
            lines += ["", f"... {more} more step{'s' * (more != 1)} (raise max_steps to see them)"]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.markdown()


def backward_steps(
    root: Value, *, leaves: bool = True, precision: int = 4, max_steps: int = MAX_STEPS
) -> BackwardSteps:
    """The backward sweep from `root` as a list of steps, in the order backward applies them.

    The op nodes come in reversed `topological_order(root)`, root first, each with its complete
    gradient and `(parent, local, amount)` for each differentiable parent (an op's fixed
    parameters get none; a parent used twice, as in `a*a`, gets two). With `leaves`, each named
    leaf (an input or a weight; not an unlabelled constant) is listed too, right after the step
    that completes its gradient. Nothing in the graph changes. The tables show `max_steps`
    steps (numbers to `precision` significant digits) and say how many more there are.
    """
    where = "backward_steps"
    require_value(root, where, "root")
    require_precision(precision, where)
    if not isinstance(max_steps, int) or isinstance(max_steps, bool) or max_steps < 1:
        raise ValueError(f"{where}: max_steps must be a positive int (got {max_steps!r})")

    order = topological_order(root)
    names = Names(order, precision)
    grads: dict[Value, float] = {node: 0.0 for node in order}
    grads[root] = 1.0
    # how many more steps add to each leaf: a leaf is listed when this reaches zero
    pending: dict[Value, int] = {}
    for node in order:
        if node.op is not None:
            # an op's fixed parameters (consts) come last and get no contribution
            for parent in node.parents[: len(node.parents) - node.op.consts]:
                if parent.op is None:
                    pending[parent] = pending.get(parent, 0) + 1

    steps: list[Step] = []
    if root.op is None:
        steps.append(Step(root, names.text(root), 1.0, ()))
    for node in reversed(order):
        if node.op is None:
            continue
        g = grads[node]
        contributions = []
        completed = []
        for parent, local in zip(node.parents, local_derivatives(node), strict=False):
            # as in backward, a node whose gradient is zero adds nothing (not 0 * inf)
            amount = local * g if g != 0.0 else 0.0
            grads[parent] += amount
            contributions.append(Contribution(parent, local, amount))
            if parent.op is None:
                pending[parent] -= 1
                if pending[parent] == 0:
                    completed.append(parent)
        steps.append(Step(node, names.text(node), g, tuple(contributions)))
        if leaves:
            steps += [
                Step(leaf, names.text(leaf), grads[leaf], ())
                for leaf in completed
                if not names.is_constant(leaf)
            ]
    return BackwardSteps(root, steps, names, max_steps)
