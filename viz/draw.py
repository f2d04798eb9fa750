"""Draw a graph with graphviz: one box per Value, one small node per operation, ready for slides.

The drawing only reads the graph. Nodes are named by their position in the topological order
(`v0`, `v1`, ..., the op that made `v7` is `v7op`), so the same expression always gives the same
DOT text and the same picture. Boxes are titled with the names `explain` uses: unlabelled
results are `t<position>`, a label shared by several Values gets `@position`, and a constant is
called by its number. Nodes are written in reading order (an op's first input first), and the
units of a layer (`z1[0]`, `z1[1]`, ...) are tied in index order, so they are drawn 0 on top.
A box's fill shows its gradient at a glance: blue for positive, red for negative, deeper for
larger |grad|; a legend says so.
"""

from __future__ import annotations

import html
import itertools
import math
import os
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import graphviz

from autodiff import Value, ops, topological_order
from viz._names import Names, number, require_precision, require_value

RANKDIRS = ("LR", "TB", "RL", "BT")
MAX_NODES = 500
MAX_LABEL = 60  # characters of a label shown; dot rejects strings over 16384 characters
FONT = "Helvetica,Arial,sans-serif"  # Liberation Sans where Helvetica and Arial are missing
INK = "#1f2937"
LINE = "#6b7280"
FAINT = "#9ca3af"
OP_FILL = "#f3f4f6"
POSITIVE = (0x93, 0xC5, 0xFD)  # the fill of the largest positive grad: a light blue
NEGATIVE = (0xFC, 0xA5, 0xA5)  # and of the largest negative one: a light red
NOT_A_NUMBER = "#e5e7eb"
PATH = {"color": INK, "penwidth": "2.5"}
BREAK = '<br align="left"/>'  # a line break in the legend, the line before it left-aligned

INSTALL_DOT = (
    "the graphviz program `dot` was not found on PATH. Install it with "
    "`apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS), "
    "`conda install graphviz`, or from https://graphviz.org/download/, then try again. "
    "Without dot, `.source` still gives the DOT text."
)


class DotNotFoundError(graphviz.ExecutableNotFound):
    """The `dot` program is missing; the message says how to install it."""

    def __init__(self, where: str) -> None:
        # skips ExecutableNotFound.__init__, which builds its own message from the failed command
        RuntimeError.__init__(self, f"{where}: {INSTALL_DOT}")


class Drawing(graphviz.Digraph):
    """A `graphviz.Digraph` whose rendering explains how to get `dot` when it is missing."""

    def render(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().render(*args, **kwargs)
        except graphviz.ExecutableNotFound as error:
            raise DotNotFoundError("render") from error

    def pipe(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().pipe(*args, **kwargs)
        except graphviz.ExecutableNotFound as error:
            raise DotNotFoundError("pipe") from error


_QUOTED_SPECIAL = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\n", "&": "&amp;"}


def escape(text: str) -> str:
    """`text` as literal characters inside a quoted DOT label (an op's node).

    Backslashes and quotes are escaped so they can neither end the string nor start an escape
    sequence; `&` is written `&amp;` since dot decodes entities in labels; newlines become
    DOT's line break.
    """
    out = []
    for c in text:
        if c in _QUOTED_SPECIAL:
            out.append(_QUOTED_SPECIAL[c])
        elif ord(c) < 32 or c == "\x7f":
            out.append(" ")
        else:
            out.append(c)
    return "".join(out)


def html_text(text: str) -> str:
    """`text` as literal characters in a graphviz HTML-like label; newlines become line breaks.

    Markup characters become entities; a backslash is doubled, since dot reads `\\N`, `\\G`
    as the node's and the graph's names even there (and decodes entities first).
    """
    out = []
    for c in text:
        if c in "\n\r":
            out.append("<br/>")
        elif c == "\\":
            out.append("\\\\")
        elif ord(c) < 32 or c == "\x7f":
            out.append(" ")
        else:
            out.append(html.escape(c))
    return "".join(out)


def shorten(text: str, limit: int = MAX_LABEL) -> str:
    """`text` cut to `limit` characters, the last an ellipsis, when it is longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _positive_int(x: Any, where: str, what: str) -> int:
    if not isinstance(x, int) or isinstance(x, bool) or x < 1:
        raise ValueError(f"{where}: {what} must be a positive int, got {x!r}")
    return x


def _differentiable(node: Value) -> Sequence[Value]:
    """The parents that get a partial derivative: all but an op's fixed parameters."""
    if node.op is None:
        return ()
    return node.parents[: len(node.parents) - node.op.consts]


def _op_label(node: Value, precision: int) -> str:
    op = node.op
    assert op is not None  # only called for results of an op
    if not op.consts:
        return op.symbol
    fixed = ", ".join(number(p.data, precision) for p in node.parents[-op.consts :])
    return f"{op.symbol}{fixed}" if not op.symbol.isalnum() else f"{op.symbol}({fixed})"


def _reading_order(root: Value, inputs: Callable[[Value], Sequence[Value]]) -> list[Value]:
    """Every node `root` depends on, each after its inputs, an op's first input first.

    Graphviz keeps the order in which nodes are written where the layout leaves a choice, so
    writing them in this order draws the inputs of an op, and the units of a layer, in index
    order. A depth-first walk with an explicit stack: no recursion limit.
    """
    out: list[Value] = []
    seen: set[Value] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            out.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((parent, False) for parent in reversed(inputs(node)) if parent not in seen)
    return out


_UNIT = re.compile(r"([A-Za-z]+\d*)\[(\d+)\]")  # z1[0], a2[3]: unit 0 of z1, unit 3 of a2


def _layers(
    drawn: Sequence[Value], inputs: Callable[[Value], Sequence[Value]]
) -> list[list[Value]]:
    """The results labelled as units of one layer (`z1[0]`, `z1[1]`, ...), each in index order.

    Only a set of units that all lie at one depth of the drawing (as a layer's do) is kept, so
    that pinning them to one rank moves nothing.
    """
    depth: dict[Value, int] = {}
    for node in drawn:  # inputs come first
        depth[node] = 1 + max((depth[p] for p in inputs(node)), default=-1)
    stems: dict[str, list[tuple[int, Value]]] = {}
    for node in drawn:
        match = _UNIT.fullmatch(node.label)
        if match and node.op is not None:
            stems.setdefault(match[1], []).append((int(match[2]), node))
    layers = []
    for units in stems.values():
        ordered = [node for _, node in sorted(units, key=lambda unit: unit[0])]
        if len(ordered) > 1 and len({depth[node] for node in ordered}) == 1:
            layers.append(ordered)
    return layers


def _mix(colour: tuple[int, int, int], amount: float) -> str:
    """`colour` mixed into white: 0 gives white, 1 the colour itself."""
    r, g, b = (round(255 + (c - 255) * amount) for c in colour)
    return f"#{r:02x}{g:02x}{b:02x}"


def grad_fill(grad: float, largest: float) -> str:
    """A box's fill for its gradient: blue if positive, red if negative, white if zero.

    The depth grows with |grad| / largest, through a square root so that gradients a hundred
    times smaller than the largest still show.
    """
    if grad != grad:
        return NOT_A_NUMBER
    if grad == 0.0 or largest == 0.0:
        return "#ffffff"
    share = min(1.0, abs(grad) / largest) if largest != math.inf else 1.0
    return _mix(POSITIVE if grad > 0 else NEGATIVE, 0.12 + 0.88 * math.sqrt(share))


def _plain(x: Any) -> float:
    """A gradient as a float (one made with create_graph=True is a Value)."""
    return float(x.data if isinstance(x, Value) else x)


def _legend(notes: Sequence[str], largest: float | None, precision: int) -> str:
    """An HTML-like table that says what the fills mean (when grads are shown) and `notes`."""

    def swatch(fill: str, text: str) -> str:
        return (
            f'<tr><td bgcolor="{fill}" border="1" color="{FAINT}" width="14" height="10"></td>'
            f'<td align="left">{text}</td></tr>'
        )

    def note(text: str) -> str:
        return f'<tr><td colspan="2" align="left" balign="left">{text}</td></tr>'

    rows = []
    if largest is not None:
        rows += [
            note("<b>fill: grad</b>"),
            swatch(_mix(POSITIVE, 1.0), "positive"),
            swatch(_mix(NEGATIVE, 1.0), "negative"),
            swatch("#ffffff", "zero"),
            note(f"paler: smaller |grad|{BREAK}(largest {html_text(number(largest, precision))})"),
        ]
    rows += [note(text) for text in notes]
    table = '<table border="0" cellborder="0" cellspacing="1" cellpadding="1">'
    return f"<{table}{''.join(rows)}</table>>"


def draw_graph(
    root: Value,
    rankdir: str = "LR",
    show_grad: bool = True,
    *,
    precision: int = 4,
    highlight: Value | None = None,
    only_paths_from: Value | None = None,
    legend: bool = True,
    max_nodes: int = MAX_NODES,
    collapse_linear: bool = True,
    format: str = "svg",
) -> graphviz.Digraph:
    """A `graphviz.Digraph` of everything `root` depends on; displays inline in Jupyter.

    Each Value is a box with its name, `data` and `grad` (grads hidden with `show_grad=False`,
    numbers to `precision` significant digits), filled by the sign and size of its gradient;
    each operation is a small node between its inputs and its result. A constant is named by
    its number; a fixed parameter of an op (the 2 of `x**2`) is written into the op's node.
    `highlight` draws every path from that Value to `root` in bold; `only_paths_from` draws
    nothing but those paths (the other inputs of their ops are left out). A `legend` says what
    the fills and the bold lines mean. A neuron's weighted sum (the `linear` op that `nn`
    records) is one node `Σw·x+b`; with `collapse_linear=False` it is drawn term by term.
    Labels longer than MAX_LABEL (60) characters are cut, ending in "…". Graphs with more
    than `max_nodes` Values raise a ValueError instead of an unreadable picture.
    """
    where = "draw_graph"
    require_value(root, where, "root")
    if rankdir not in RANKDIRS:
        raise ValueError(f"{where}: rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    require_precision(precision, where)
    _positive_int(max_nodes, where, "max_nodes")
    for what, chosen in (("highlight", highlight), ("only_paths_from", only_paths_from)):
        if chosen is not None:
            require_value(chosen, where, what)

    order = topological_order(root)
    if len(order) > max_nodes:
        raise ValueError(
            f"{where}: the graph has {len(order)} nodes, more than max_nodes={max_nodes}; "
            "pass a larger max_nodes or draw a smaller sub-expression"
        )
    names = Names(order, precision)
    index = names.index

    def paths_from(start: Value, what: str) -> set[Value]:
        if start not in index:
            raise ValueError(f"{where}: {what} must be a Value that root depends on, got {start!r}")
        on = {start}
        for node in order:
            if any(p in on for p in _differentiable(node)):
                on.add(node)
        return on

    on_path = set() if highlight is None else paths_from(highlight, "highlight")
    kept = set(order) if only_paths_from is None else paths_from(only_paths_from, "only_paths_from")

    def inputs(node: Value) -> list[Value]:
        """The drawn inputs of a node's op, a linear op's as its terms w_k, x_k in turn."""
        parents = list(_differentiable(node))
        if node.op is ops.LINEAR:
            n = len(node.parents) // 2
            parents = [*(v for k in range(n) for v in (parents[k], parents[n + k])), parents[-1]]
        return [p for p in parents if p in kept] if node is not only_paths_from else []

    drawn = _reading_order(root, inputs)
    largest = max((abs(_plain(node.grad)) for node in drawn), default=0.0)

    graph = Drawing(
        format=format,
        graph_attr={
            "rankdir": rankdir,
            "fontname": FONT,
            "fontsize": "11",
            "nodesep": "0.12",
            "ranksep": "0.2",
            "pad": "0.1",
        },
        node_attr={"fontname": FONT, "fontsize": "11", "fontcolor": INK, "color": FAINT},
        edge_attr={"color": LINE, "arrowsize": "0.6", "penwidth": "0.8"},
    )

    def record(name: str, title: str, data: Any, grad: Any, lit: bool, constant: bool) -> None:
        rows = []
        if title:
            shown = html_text(shorten(title))
            rows.append(shown if constant else f"<b>{shown}</b>")
        if not constant:  # a constant's title is its data
            rows.append(f"data {html_text(number(data, precision))}")
        if show_grad:
            rows.append(f"grad {html_text(number(grad, precision))}")
        cells = "".join(f"<tr><td>{row}</td></tr>" for row in rows)
        fill = grad_fill(_plain(grad), largest) if show_grad else "#ffffff"
        graph.node(
            name,
            f'<<table border="0" cellborder="0" cellspacing="0" cellpadding="1">{cells}</table>>',
            shape="box",
            style="rounded,filled",
            margin="0.06,0.03",
            fillcolor=fill,
            **(PATH if lit else {}),
        )

    def operation(name: str, symbol: str, lit: bool) -> None:
        graph.node(
            name,
            graphviz.nohtml(escape(symbol)),
            shape="ellipse",
            style="filled",
            fillcolor=OP_FILL,
            fontsize="10",
            width="0.3",
            height="0.25",
            margin="0.03,0.01",
            **(PATH if lit else {}),
        )

    def edge(tail: str, head: str, lit: bool) -> None:
        graph.edge(tail, head, **(PATH if lit else {}))

    drawn_set = set(drawn)
    for node in drawn:
        i = index[node]
        constant = names.is_constant(node)
        title = names.text(node, bracket_negative=False)
        record(f"v{i}", title, node.data, node.grad, node in on_path, constant)
        if not inputs(node):
            continue
        op_name = f"v{i}op"
        lit = node in on_path
        if node.op is ops.LINEAR and not collapse_linear:
            n = len(node.parents) // 2
            for k in range(n):
                w, x = node.parents[k], node.parents[n + k]
                if w not in drawn_set and x not in drawn_set:
                    continue
                term_lit = w in on_path or x in on_path
                mul, term = f"v{i}m{k}", f"v{i}t{k}"
                operation(mul, "*", term_lit)
                for factor in (w, x):
                    if factor in drawn_set:
                        edge(f"v{index[factor]}", mul, factor in on_path)
                # d(node)/d(term) = 1, so each term's gradient is the node's own
                title = f"{names.text(w)}·{names.text(x)}"
                record(term, title, w.data * x.data, node.grad, term_lit, False)
                edge(mul, term, term_lit)
                edge(term, op_name, term_lit)
            bias = node.parents[-1]
            operation(op_name, "+", lit)
            if bias in drawn_set:
                edge(f"v{index[bias]}", op_name, bias in on_path)
        else:
            operation(op_name, _op_label(node, precision), lit)
            for parent in _differentiable(node):
                if parent in drawn_set:
                    edge(f"v{index[parent]}", op_name, parent in on_path)
        edge(op_name, f"v{i}", lit)

    for units in _layers(drawn, inputs):
        with graph.subgraph() as layer:  # invisible edges keep a layer's units in index order
            layer.attr(rank="same")
            for upper, lower in itertools.pairwise(units):
                layer.edge(f"v{index[upper]}", f"v{index[lower]}", style="invis")

    notes = []
    if highlight is not None:
        notes.append(f"bold: the paths from{BREAK}{html_text(shorten(names.text(highlight)))}")
    if only_paths_from is not None:
        start = html_text(shorten(names.text(only_paths_from)))
        notes.append(f"only the paths from{BREAK}{start}; other inputs{BREAK}are left out")
    if legend and (show_grad or notes):
        key = _legend(notes, largest if show_grad else None, precision)
        graph.node("legend", key, shape="box", style="rounded", margin="0.08,0.05", fontsize="10")
        with graph.subgraph() as beside_root:  # the legend shares the root's rank
            beside_root.attr(rank="same")
            beside_root.node(f"v{index[root]}")
            beside_root.node("legend")
    return graph


draw_dot = draw_graph


def render(
    drawing: Value | graphviz.Digraph,
    path: str | os.PathLike[str],
    format: str | None = None,
    **options: Any,
) -> Path:
    """Write a drawing (of a Value, drawn with `options`, or a ready Digraph) to `path`.

    The format comes from `format` or else the suffix of `path` (svg, png, pdf, ...); missing
    folders are made. Without the `dot` program this raises DotNotFoundError, which says how
    to install it.
    """
    where = "render"
    if isinstance(drawing, Value):
        graph = draw_graph(drawing, **options)
    elif isinstance(drawing, graphviz.Digraph):
        if options:
            raise TypeError(
                f"{where}: drawing options ({', '.join(options)}) need a Value to draw, "
                "got a ready Digraph"
            )
        graph = drawing
    else:
        raise TypeError(
            f"{where}: expected a Value or a graphviz.Digraph, got {type(drawing).__name__}"
        )
    target = Path(path)
    if format is None:
        format = target.suffix.lstrip(".").lower()  # dot knows svg, not SVG
        if not format:
            raise ValueError(
                f"{where}: expected a format or a path with a suffix such as .svg, "
                f"got {str(path)!r}"
            )
    elif target.suffix.lstrip(".") != format:
        target = target.with_name(f"{target.name}.{format}")
    if shutil.which("dot") is None:
        raise DotNotFoundError(where)
    try:
        picture = graph.pipe(format=format)
    except graphviz.ExecutableNotFound as error:  # also a Drawing's DotNotFoundError("pipe")
        raise DotNotFoundError(where) from error
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(picture)
    return target
