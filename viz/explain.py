"""explain: d(root)/d(wrt) written out by the chain rule, the way the seeds derive it by hand.

Along every path from `wrt` to `root` the local derivatives multiply (dL/da · da/dz · dz/dw);
the derivative is the sum over paths. Each factor is written with its symbolic form from the
op table and its number. Paths can be astronomically many in a deep network, so they are never
all listed: a dynamic programme over the topological order counts them and keeps only the
`max_paths` largest by |contribution|, and the backward sweep gives the exact total, so the
paths left out are summed as total minus the written ones. Likewise a path of a deep graph is
written by the factors at its two ends, with its exact product.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from autodiff import Value, local_derivatives, topological_order
from viz._names import Names, latex_number, number, require_precision, require_value

MAX_DEFINITIONS = 20  # names listed beyond those the written paths mention
MAX_FACTORS = 12  # factors written per path: a longer path shows its first and last 6
MAX_CHAIN = MAX_FACTORS + 2  # nodes written in a chain: those the written factors join

T = TypeVar("T")

_INFIX = {"add": "+", "sub": "-", "mul": "·", "div": "/", "pow": "^"}
_LATEX_FUNCTION = {
    "tanh": r"\tanh",
    "sigmoid": r"\sigma",
    "log": r"\log",
    "sin": r"\sin",
    "cos": r"\cos",
    "relu": r"\operatorname{relu}",
    "softplus": r"\operatorname{softplus}",
    "leaky_relu": r"\operatorname{lrelu}",
    "logsumexp": r"\operatorname{logsumexp}",
}


@dataclass(frozen=True, eq=False)
class Factor:
    """One local derivative on a path: d(out)/d(input), the input at position `arg` of out's op."""

    out: Value
    input: Value
    arg: int
    value: float
    notation: str  # ∂a2[0]/∂z2[0]
    symbolic: str  # a2[0](1 - a2[0]); just the number when the derivative is a constant
    notation_latex: str
    symbolic_latex: str


@dataclass(frozen=True, eq=False)
class ChainPath:
    """One way from `wrt` to `root`: its nodes (wrt first) and factors (root side first).

    A path of more than MAX_FACTORS steps keeps only the factors at its two ends, and
    `skipped` counts those left out between them; `product` is over every factor.
    """

    nodes: tuple[Value, ...]
    factors: tuple[Factor, ...]
    product: float
    skipped: int = 0

    def ends(self) -> tuple[tuple[Factor, ...], tuple[Factor, ...]]:
        """The factors before and after the skipped ones (all before when none were skipped)."""
        if not self.skipped:
            return self.factors, ()
        half = len(self.factors) // 2
        return self.factors[:half], self.factors[half:]


@dataclass(frozen=True, eq=False)
class Group:
    """The paths that leave the branch point through `via` (as argument `arg` of via's op)."""

    via: Value
    arg: int
    count: int
    contribution: float


@dataclass(frozen=True, eq=False)
class Definition:
    """A generated name and what it stands for."""

    node: Value
    name: str
    text: str
    latex: str


class _Writer:
    """How one output writes a node, a chain of nodes and a number: text, or Markdown with LaTeX."""

    def __init__(self, names: Names, latex: bool) -> None:
        self.names, self.latex = names, latex
        self.bullet = "- " if latex else "  "
        self.gap = [""] if latex else []  # Markdown needs a blank line before a list

    def name(self, node: Value) -> str:
        return f"${self.names.latex(node)}$" if self.latex else self.names.text(node)

    def chain(self, nodes: Sequence[Value]) -> str:
        """`a → b → c`, with only the two ends of a chain longer than MAX_CHAIN."""
        if self.latex:
            return "$" + _join(_ends(nodes, MAX_CHAIN), self.names.latex, r" \to ", r"\cdots") + "$"
        return _join(_ends(nodes, MAX_CHAIN), self.names.text, " → ", "...")

    def number(self, x: float) -> str:
        p = self.names.precision
        return f"${latex_number(x, p)}$" if self.latex else number(x, p)


class Derivation:
    """The chain-rule derivation of d(root)/d(wrt): `str()` for text, `.markdown()` for LaTeX.

    `total` is the derivative (what `wrt.grad` holds after `root.backward()` from zero grads);
    `paths` the written paths, largest |product| first; `n_paths` how many there are in all;
    `rest` the summed contribution of the paths not written; `common` the nodes every path
    starts through and `groups` the branches after them; `definitions` the generated names.
    """

    def __init__(
        self,
        root: Value,
        wrt: Value,
        total: float,
        paths: list[ChainPath],
        n_paths: int,
        common: tuple[Value, ...],
        groups: list[Group],
        definitions: list[Definition],
        omitted_definitions: int,
        names: Names,
        max_paths: int,
    ) -> None:
        self.root = root
        self.wrt = wrt
        self.total = total
        self.paths = paths
        self.n_paths = n_paths
        self.rest = total - math.fsum(p.product for p in paths) if n_paths > len(paths) else 0.0
        self.common = common
        self.groups = groups
        self.definitions = definitions
        self.omitted_definitions = omitted_definitions
        self.max_paths = max_paths
        self._names = names

    def __repr__(self) -> str:
        n = self._names
        return (
            f"<Derivation d{n.text(self.root)}/d{n.text(self.wrt)} = {number(self.total, 6)} "
            f"over {self.n_paths} path{'s' * (self.n_paths != 1)}>"
        )

    # ---- plain text ----
    def __str__(self) -> str:
        n, p = self._names, self._names.precision
        root, wrt = n.text(self.root), n.text(self.wrt)
        whole = f"∂{root}/∂{wrt}"
        lines = [f"{whole} by the chain rule", "=" * len(f"{whole} by the chain rule")]
        if self.n_paths == 0:
            lines.append(f"{root} does not depend on {wrt}: no path leads from it, so {whole} = 0.")
            return "\n".join(lines)
        if self.wrt is self.root:
            lines.append(f"{whole} = 1: the derivative of a value with respect to itself.")
            return "\n".join(lines)
        lines.append(self._intro(wrt, root))
        lines += self._branches(_Writer(n, latex=False))
        if self.definitions:
            lines += ["", "Names for unlabelled values:"]
            lines += [f"  {d.name} = {d.text}" for d in self.definitions]
            if self.omitted_definitions:
                lines.append(f"  ... and {self.omitted_definitions:,} more (draw_graph shows them)")
        w = _Writer(n, latex=False)
        for k, path in enumerate(self.paths, 1):
            lines += ["", f"Path {k} of {self.n_paths:,}: {w.chain(path.nodes)}"]
            ends = path.ends()
            lines.append("  " + _join(ends, lambda f: f.notation, " · ", "..."))
            width = max(len(f.notation) for f in path.factors)
            for i, f in enumerate(path.factors):
                if path.skipped and i == len(ends[0]):
                    lines.append(f"    ... {_count(path.skipped, 'more factor')} ...")
                shown = number(f.value, p)
                rhs = shown if f.symbolic == shown else f"{f.symbolic} = {shown}"
                lines.append(f"    {f.notation.ljust(width)} = {rhs}")
            product = _join(ends, lambda f: _bracketed(number(f.value, p)), " × ", "...")
            lines.append(f"  product: {product} = {number(path.product, p)}")
        terms = [number(x.product, p) for x in self.paths]
        omitted = self.n_paths - len(self.paths)
        if omitted:
            lines += [
                "",
                f"... and {_count(omitted, 'more path')} not written, "
                f"contributing {number(self.rest, p)} in total.",
            ]
            terms.append(number(self.rest, p))
        lines.append("")
        sum_text = " + ".join(_bracketed(t) if i else t for i, t in enumerate(terms))
        if len(terms) > 1:
            lines.append(f"{whole} = {sum_text} = {number(self.total, p)}")
        else:
            lines.append(f"{whole} = {number(self.total, p)}")
        lines.append(f"(the number {wrt}.grad holds after {root}.backward() from zero grads)")
        return "\n".join(lines)

    def _intro(self, wrt: str, root: str) -> str:
        if self.n_paths == 1:
            return (
                f"1 path leads from {wrt} to {root}; the derivative is the product of the "
                "local derivatives along it."
            )
        return (
            f"{_count(self.n_paths)} lead from {wrt} to {root}. Along each path the local "
            "derivatives multiply; the derivative is the sum over paths."
        )

    def _via(self, group: Group, w: _Writer) -> str:
        name = w.name(group.via)
        if sum(g.via is group.via for g in self.groups) > 1:
            name += f" (argument {group.arg + 1})"
        return name

    def _branches(self, w: _Writer) -> list[str]:
        """Where the paths part and what each branch contributes, as text or as Markdown."""
        if not self.groups:
            return []
        branch = w.name(self.common[-1])
        if len(self.common) > 1:
            head = f"Every path starts {w.chain(self.common)}, then branches at {branch}:"
        else:
            head = f"The paths leave {branch} along {len(self.groups)} edges:"
        lines = ["", head, *w.gap]
        for group in self.groups[: self.max_paths]:
            lines.append(
                f"{w.bullet}via {self._via(group, w)}: {_count(group.count)}, "
                f"contributing {w.number(group.contribution)}"
            )
        if len(self.groups) > self.max_paths:
            others = self.groups[self.max_paths :]
            share = math.fsum(g.contribution for g in others)
            lines.append(
                f"{w.bullet}... and {len(others)} more branches, contributing {w.number(share)}"
            )
        return lines

    # ---- Markdown with LaTeX ----
    def markdown(self) -> str:
        """The derivation in Markdown with LaTeX maths (GitHub and Jupyter render it)."""
        n, p = self._names, self._names.precision
        root, wrt = n.latex(self.root), n.latex(self.wrt)
        whole = rf"\frac{{\partial {root}}}{{\partial {wrt}}}"
        out = [f"### ${whole}$ by the chain rule", ""]
        if self.n_paths == 0:
            out.append(
                f"${root}$ does not depend on ${wrt}$: no path leads from it, so ${whole} = 0$."
            )
            return "\n".join(out) + "\n"
        if self.wrt is self.root:
            out.append(f"${whole} = 1$: the derivative of a value with respect to itself.")
            return "\n".join(out) + "\n"
        out.append(self._intro(f"${wrt}$", f"${root}$"))
        out += self._branches(_Writer(n, latex=True))
        if self.definitions:
            out += ["", "**Names** for unlabelled values:", ""]
            out += [f"- ${d.latex}$" for d in self.definitions]
            if self.omitted_definitions:
                out.append(f"- ... and {self.omitted_definitions:,} more (draw_graph shows them)")
        w = _Writer(n, latex=True)
        for k, path in enumerate(self.paths, 1):
            ends = path.ends()
            chain = _join(ends, lambda f: f.notation_latex, r" \, ", r"\cdots")
            numbers = _join(
                ends, lambda f: _bracketed(latex_number(f.value, p)), r" \cdot ", r"\cdots"
            )
            out += [
                "",
                f"**Path {k}** of {self.n_paths:,}: {w.chain(path.nodes)}",
                "",
                "$$",
                f"{chain} = {numbers} = {latex_number(path.product, p)}",
                "$$",
                "",
            ]
            for i, f in enumerate(path.factors):
                if path.skipped and i == len(ends[0]):
                    out.append(f"- ... {_count(path.skipped, 'more factor')} ...")
                shown = latex_number(f.value, p)
                rhs = shown if f.symbolic_latex == shown else f"{f.symbolic_latex} = {shown}"
                out.append(f"- ${f.notation_latex} = {rhs}$")
        terms = [latex_number(x.product, p) for x in self.paths]
        omitted = self.n_paths - len(self.paths)
        if omitted:
            out += [
                "",
                f"... and {_count(omitted, 'more path')} not written, contributing "
                f"${latex_number(self.rest, p)}$ in total.",
            ]
            terms.append(latex_number(self.rest, p))
        total = latex_number(self.total, p)
        sum_tex = " + ".join(_bracketed(t) if i else t for i, t in enumerate(terms))
        out += ["", "**Sum over paths**", "", "$$"]
        out.append(f"{whole} = {sum_tex} = {total}" if len(terms) > 1 else f"{whole} = {total}")
        out += ["$$", "", "This is the `.grad` that backward from the root leaves in the input."]
        return "\n".join(out) + "\n"

    def _repr_markdown_(self) -> str:
        return self.markdown()


def _count(k: int, noun: str = "path") -> str:
    return f"{k:,} {noun}{'s' * (k != 1)}"


def _ends(items: Sequence[T], keep: int) -> tuple[Sequence[T], Sequence[T]]:
    """All of `items`, or, when there are more than `keep`, the first and last keep // 2."""
    if len(items) <= keep:
        return items, ()
    return items[: keep // 2], items[len(items) - keep // 2 :]


def _join(
    ends: tuple[Sequence[T], Sequence[T]], write: Callable[[T], str], sep: str, ellipsis: str
) -> str:
    """Both ends written and joined by `sep`, with `ellipsis` between them when there are two."""
    head, tail = ends
    text = sep.join(map(write, head))
    return f"{text}{sep}{ellipsis}{sep}{sep.join(map(write, tail))}" if tail else text


def _bracketed(shown: str) -> str:
    return f"({shown})" if shown.startswith("-") else shown


def _is_number(text: str) -> bool:
    try:
        float(text.strip("()"))
    except ValueError:
        return False
    return True


# ---- what the text says about one node or one factor ----


def _definition(node: Value, names: Names) -> Definition:
    """`t7 = a2[0] - 1 = -0.449`: a generated name, its op on its parents, and its value."""
    p = names.precision
    name, tex_name = names.text(node), names.latex(node)
    value, tex_value = number(node.data, p), latex_number(node.data, p)
    op = node.op
    if op is None:
        return Definition(node, name, f"{value} (an unlabelled leaf)", f"{tex_name} = {tex_value}")
    args = [names.text(q) for q in node.parents]
    tex = [names.latex(q) for q in node.parents]
    if op.name in _INFIX and len(args) == 2:
        text = f"{args[0]} {_INFIX[op.name]} {args[1]}"
        if op.name == "mul":
            latex = rf"{tex[0]} \cdot {tex[1]}"
        elif op.name == "div":
            latex = rf"\frac{{{tex[0]}}}{{{tex[1]}}}"
        elif op.name == "pow":
            latex = f"{{{tex[0]}}}^{{{tex[1]}}}"
        else:
            latex = f"{tex[0]} {_INFIX[op.name]} {tex[1]}"
    elif op.name == "neg":
        text, latex = f"-{args[0]}", f"-{tex[0]}"
    elif op.name == "sum":
        text, latex = " + ".join(args), " + ".join(tex)
    elif op.name == "linear":
        k = len(args) // 2
        text = " + ".join([f"{args[i]}·{args[k + i]}" for i in range(k)] + [args[-1]])
        latex = " + ".join([rf"{tex[i]} \, {tex[k + i]}" for i in range(k)] + [tex[-1]])
    elif op.name == "exp":
        text, latex = f"exp({args[0]})", f"e^{{{tex[0]}}}"
    elif op.name == "sqrt":
        text, latex = f"√({args[0]})", rf"\sqrt{{{tex[0]}}}"
    elif op.name == "abs":
        text, latex = f"|{args[0]}|", rf"\left|{tex[0]}\right|"
    else:
        text = f"{op.symbol}({', '.join(args)})"
        function = _LATEX_FUNCTION.get(op.name, rf"\operatorname{{{op.name}}}")
        latex = rf"{function}\left({', '.join(tex)}\right)"
    return Definition(node, name, f"{text} = {value}", f"{tex_name} = {latex} = {tex_value}")


def _factor(node: Value, arg: int, value: float, names: Names) -> tuple[Factor, set[Value]]:
    """The factor d(node)/d(parent `arg`), and the nodes its symbolic form mentions."""
    op = node.op
    assert op is not None  # factors come from edges into results of ops
    parents = node.parents
    # describe with placeholders first, to learn which nodes the formula mentions
    slots = [f"\x00{k}\x00" for k in range(len(parents))]
    out_slot = "\x00out\x00"
    text, latex = op.describe(arg, slots, out_slot)
    mentioned = {q for q, s in zip(parents, slots, strict=True) if s in text or s in latex}
    if out_slot in text or out_slot in latex:
        mentioned.add(node)
    for q, s in zip(parents, slots, strict=True):
        text, latex = text.replace(s, names.text(q)), latex.replace(s, names.latex(q))
    text = text.replace(out_slot, names.text(node))
    latex = latex.replace(out_slot, names.latex(node))

    p = names.precision
    parent = parents[arg]
    repeated = sum(q is parent for q in parents[: len(parents) - op.consts]) > 1
    where = f" (argument {arg + 1})" if repeated else ""
    notation = f"∂{names.text(node)}/∂{names.text(parent)}{where}"
    notation_tex = rf"\frac{{\partial {names.latex(node)}}}{{\partial {names.latex(parent)}}}"
    if repeated:  # \left. \right| rather than \big|, which mathtext does not know
        notation_tex = rf"\left.{notation_tex}\right|_{{\text{{arg }} {arg + 1}}}"
    if _is_number(text):  # a constant derivative (1, -1, a fixed weight): the number says it all
        text, latex = number(value, p), latex_number(value, p)
    factor = Factor(node, parent, arg, value, notation, text, notation_tex, latex)
    return factor, mentioned


# ---- the walk ----


def _sort_key(entry: tuple[float, float, Any]) -> float:
    size = entry[0]
    return -size if size == size else -math.inf  # NaN sorts first: it is the thing to see


def explain(root: Value, wrt: Value, max_paths: int = 20, precision: int = 4) -> Derivation:
    """The chain-rule derivation of d(root)/d(wrt), path by path, with every factor's formula.

    At most `max_paths` paths are written, the largest |contribution| first; the rest are
    counted and summed in one line. Of a path longer than MAX_FACTORS only the factors at its
    two ends are written, and the product is still over all of them. Reads the graph only:
    `.grad` is neither used nor changed.
    """
    where = "explain"
    require_value(root, where, "root")
    require_value(wrt, where, "wrt")
    require_precision(precision, where)
    if not isinstance(max_paths, int) or isinstance(max_paths, bool) or max_paths < 1:
        raise ValueError(f"{where}: max_paths must be a positive int, got {max_paths!r}")

    order = topological_order(root)
    names = Names(order, precision, named=[wrt])
    partials: dict[Value, tuple[float, ...]] = {}

    def local(node: Value) -> tuple[float, ...]:
        if node not in partials:
            partials[node] = tuple(local_derivatives(node))
        return partials[node]

    # the backward sweep, as autodiff runs it (same order, same skips), on a private dict
    adjoint: dict[Value, float] = dict.fromkeys(order, 0.0)
    adjoint[root] = 1.0
    for node in reversed(order):
        g = adjoint[node]
        if node.op is None or g == 0.0:
            continue
        for parent, partial in zip(node.parents, local(node), strict=False):
            adjoint[parent] += partial * g
    total = adjoint.get(wrt, 0.0)

    # forward from wrt: path counts, the edges used, and the best `max_paths` partial paths
    # into each node (a best path's prefix is a best path into its own end, so this is exact)
    count_from: dict[Value, int] = {wrt: 1}
    children: dict[Value, list[tuple[Value, int]]] = {wrt: []}
    best: dict[Value, list[tuple[float, float, Any]]] = {wrt: [(1.0, 1.0, None)]}
    start = names.index.get(wrt, len(order))
    for node in order[start + 1 :]:
        if node.op is None:
            continue
        split = len(node.parents) - node.op.consts
        incoming = [(arg, q) for arg, q in enumerate(node.parents[:split]) if q in count_from]
        if not incoming:
            continue
        slopes = local(node)
        count_from[node] = sum(count_from[q] for _, q in incoming)
        children[node] = []
        candidates = []
        for arg, q in incoming:
            children[q].append((node, arg))
            slope = slopes[arg]
            for _, product, chain in best[q]:
                extended = product * slope
                candidates.append((abs(extended), extended, (node, arg, slope, chain)))
        candidates.sort(key=_sort_key)
        best[node] = candidates[:max_paths]

    n_paths = count_from.get(root, 0)
    mentioned: set[Value] = {root, wrt} if wrt in names.index else {root}
    paths: list[ChainPath] = []
    for _, product, chain in best.get(root, []) if n_paths else []:
        steps = []
        while chain is not None:
            node, arg, slope, chain = chain
            steps.append((node, arg, slope))
        nodes = (wrt, *(node for node, _, _ in reversed(steps)))
        head, tail = _ends(steps, MAX_FACTORS)
        factors: list[Factor] = []
        for node, arg, slope in [*head, *tail]:
            factor, named = _factor(node, arg, slope, names)
            factors.append(factor)
            mentioned |= named | {node, factor.input}
        skipped = len(steps) - len(factors)
        paths.append(ChainPath(nodes, tuple(factors), product, skipped))

    common, groups = _groups(root, wrt, n_paths, children, local, adjoint)
    mentioned.update(*_ends(common, MAX_CHAIN))
    mentioned.update(g.via for g in groups[:max_paths])
    definitions, omitted = _definitions(mentioned, names)
    return Derivation(
        root, wrt, total, paths, n_paths, common, groups, definitions, omitted, names, max_paths
    )


def _groups(
    root: Value,
    wrt: Value,
    n_paths: int,
    children: dict[Value, list[tuple[Value, int]]],
    local: Any,
    adjoint: dict[Value, float],
) -> tuple[tuple[Value, ...], list[Group]]:
    """The chain every path starts with, and the branches where the paths first part.

    In a network this is the seeds' δ: W1[0,0] → z1[0] → a1[0] is shared, and each branch at
    a1[0] (through z2[0], z2[1], ...) contributes its own δ times the shared factors.
    """
    if n_paths < 2:
        return (), []
    # paths counted backwards from root, over the edges that forward reached
    count_to: dict[Value, int] = {root: 1}
    for node in reversed(list(children)):
        if node is not root:
            count_to[node] = sum(count_to.get(child, 0) for child, _ in children[node])
    common = [wrt]
    prefix = 1.0
    node = wrt
    while node is not root:
        onward = [(c, arg) for c, arg in children[node] if count_to.get(c, 0)]
        if len(onward) != 1:
            break
        child, arg = onward[0]
        prefix *= local(child)[arg]
        node = child
        common.append(node)
    groups = [
        Group(child, arg, count_to[child], prefix * local(child)[arg] * adjoint[child])
        for child, arg in children[node]
        if count_to.get(child, 0)
    ]
    groups.sort(key=lambda g: -abs(g.contribution))
    return tuple(common), groups


def _definitions(mentioned: set[Value], names: Names) -> tuple[list[Definition], int]:
    """Definitions of the generated names mentioned, then of the names those mention, capped."""
    direct = sorted((q for q in mentioned if names.is_generated(q)), key=names.index.__getitem__)
    listed = set(direct)
    extra: list[Value] = []
    omitted = 0
    stack = list(direct)
    while stack:
        node = stack.pop()
        for parent in node.parents:
            if parent in listed or not names.is_generated(parent):
                continue
            listed.add(parent)
            stack.append(parent)
            if len(extra) < MAX_DEFINITIONS:
                extra.append(parent)
            else:
                omitted += 1
    chosen: Sequence[Value] = sorted([*direct, *extra], key=names.index.__getitem__)
    return [_definition(q, names) for q in chosen], omitted
