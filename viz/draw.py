"""Draw a graph with graphviz: one record per Value, one small node per operation.

The drawing only reads the graph. Nodes are named by their position in the topological order
(`v0`, `v1`, ..., the op that made `v7` is `v7op`), so the same expression always gives the same
DOT text. Records are titled with the names `explain` uses: unlabelled results are
`t<position>`, and a label shared by several Values gets `@position`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import graphviz

from autodiff import Value, topological_order
from viz._names import Names, number, require_precision, require_value

RANKDIRS = ("LR", "TB", "RL", "BT")
MAX_NODES = 500
HIGHLIGHT = {"color": "#c2410c", "fillcolor": "#fed7aa", "style": "filled", "penwidth": "2"}
HIGHLIGHT_EDGE = {"color": "#c2410c", "penwidth": "2"}

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


_RECORD_SPECIAL = {
    "\\": "\\\\",
    '"': '\\"',
    "{": "\\{",
    "}": "\\}",
    "|": "\\|",
    "<": "\\<",
    ">": "\\>",
    "\n": "\\n",
    "\r": "\\n",
}


def escape(text: str, record: bool = True) -> str:
    """`text` as literal characters inside a quoted DOT label (a record field if `record`).

    Backslashes and quotes are escaped so they can neither end the string nor start an escape
    sequence; in records so are the field syntax characters; newlines become DOT's line break.
    """
    out = []
    for c in text:
        if c in _RECORD_SPECIAL and (record or c in '\\"\n\r'):
            out.append(_RECORD_SPECIAL[c])
        elif ord(c) < 32 or c == "\x7f":
            out.append(" ")
        else:
            out.append(c)
    return "".join(out)


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


def draw_graph(
    root: Value,
    rankdir: str = "LR",
    show_grad: bool = True,
    *,
    precision: int = 4,
    highlight: Value | None = None,
    max_nodes: int = MAX_NODES,
    collapse_linear: bool = True,
    format: str = "svg",
) -> graphviz.Digraph:
    """A `graphviz.Digraph` of everything `root` depends on; displays inline in Jupyter.

    Each Value is a record `{ label | data | grad }` (grads hidden with `show_grad=False`,
    numbers to `precision` significant digits); each operation is a small node between its
    inputs and its result. `highlight` colours every path from that Value to `root`.
    A neuron's weighted sum (the `linear` op that `nn` records) is one node `Σw·x+b`; with
    `collapse_linear=False` it is drawn term by term, a `*` per weight and one `+`.
    Graphs with more than `max_nodes` Values raise a ValueError instead of an unreadable picture.
    A fixed parameter of an op (the 2 of `x**2`) is written into the op's node.
    """
    where = "draw_graph"
    require_value(root, where, "root")
    if rankdir not in RANKDIRS:
        raise ValueError(f"{where}: rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    require_precision(precision, where)
    _positive_int(max_nodes, where, "max_nodes")
    if highlight is not None:
        require_value(highlight, where, "highlight")

    order = topological_order(root)
    if len(order) > max_nodes:
        raise ValueError(
            f"{where}: the graph has {len(order)} nodes, more than max_nodes={max_nodes}; "
            "pass a larger max_nodes or draw a smaller sub-expression"
        )
    names = Names(order, precision)
    index = names.index

    on_path: set[Value] = set()
    if highlight is not None:
        if highlight not in index:
            raise ValueError(
                f"{where}: highlight must be a Value that root depends on, got {highlight!r}"
            )
        on_path.add(highlight)
        for node in order:
            if any(p in on_path for p in _differentiable(node)):
                on_path.add(node)

    # a leaf used only as an op's fixed parameter is written into that op's node instead
    drawn = {root}
    for node in order:
        drawn.update(_differentiable(node))

    graph = Drawing(
        format=format,
        graph_attr={"rankdir": rankdir},
        node_attr={"fontsize": "11"},
    )

    def record(name: str, title: str, data: Any, grad: Any, lit: bool) -> None:
        fields = [escape(title)] if title else []
        fields.append(f"data {escape(number(data, precision))}")
        if show_grad:
            fields.append(f"grad {escape(number(grad, precision))}")
        attrs = {"shape": "record"} | (HIGHLIGHT if lit else {})
        graph.node(name, graphviz.nohtml("{ " + " | ".join(fields) + " }"), **attrs)

    def operation(name: str, symbol: str, lit: bool) -> None:
        attrs = {"shape": "ellipse", "fontsize": "10", "height": "0.3", "margin": "0.04,0.02"}
        attrs |= HIGHLIGHT if lit else {}
        graph.node(name, graphviz.nohtml(escape(symbol, record=False)), **attrs)

    def edge(tail: str, head: str, lit: bool) -> None:
        graph.edge(tail, head, **(HIGHLIGHT_EDGE if lit else {}))

    for node in order:
        if node not in drawn:
            continue
        i = index[node]
        title = "" if names.is_constant(node) else names.text(node)
        record(f"v{i}", title, node.data, node.grad, node in on_path)
        if node.op is None:
            continue
        op_name = f"v{i}op"
        lit = node in on_path
        if node.op.name == "linear" and not collapse_linear:
            n = len(node.parents) // 2
            terms = [(node.parents[k], node.parents[n + k]) for k in range(n)]
            for k, (w, x) in enumerate(terms):
                term_lit = w in on_path or x in on_path
                mul, term = f"v{i}m{k}", f"v{i}t{k}"
                operation(mul, "*", term_lit)
                edge(f"v{index[w]}", mul, w in on_path)
                edge(f"v{index[x]}", mul, x in on_path)
                # d(node)/d(term) = 1, so each term's gradient is the node's own
                title = f"{names.text(w)}·{names.text(x)}"
                record(term, title, w.data * x.data, node.grad, term_lit)
                edge(mul, term, term_lit)
                edge(term, op_name, term_lit)
            bias = node.parents[-1]
            operation(op_name, "+", lit)
            edge(f"v{index[bias]}", op_name, bias in on_path)
        else:
            operation(op_name, _op_label(node, precision), lit)
            for parent in _differentiable(node):
                edge(f"v{index[parent]}", op_name, parent in on_path)
        edge(op_name, f"v{i}", lit)
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
