"""explain: d(root)/d(wrt) written out by the chain rule, the way the seeds derive it by hand.

Along every path from `wrt` to `root` the local derivatives multiply (dL/da · da/dz · dz/dw);
the derivative is the sum over paths. Each factor is written with its symbolic form from the
op table and its number. Paths can be astronomically many in a deep network, so they are never
all listed: a dynamic programme over the topological order counts them and keeps only the
`max_paths` largest by |contribution|, and the backward sweep (`autodiff.gradients`) gives the
exact total, so the paths left out are summed as total minus the written ones. Likewise a path
of a deep graph is written by the factors at its two ends, with its exact product.

The text and the Markdown are one document: a list of blocks (title, paragraph, list, display
equation) whose pieces carry both forms, written out by one writer in either.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from autodiff import Value, gradients, local_derivatives, topological_order
from autodiff.checks import size
from viz._names import Names, latex_number, number, require_precision, require_value

MAX_DEFINITIONS = 20  # names listed beyond those the written paths mention
MAX_FACTORS = 12  # factors written per path: a longer path shows its first and last 6
MAX_CHAIN = MAX_FACTORS + 2  # nodes written in a chain: those the written factors join
EXACT_COUNT_BELOW = 10**30  # larger counts of paths are written in scientific form

T = TypeVar("T")

# ---- the document: blocks of pieces, each piece in both forms ----


@dataclass(frozen=True)
class Maths:
    """A formula, in plain text and in LaTeX; a str added to it goes into both."""

    text: str
    latex: str

    def __add__(self, other: Maths | str) -> Maths:
        if isinstance(other, str):
            return Maths(self.text + other, self.latex + other)
        return Maths(self.text + other.text, self.latex + other.latex)

    def __radd__(self, other: str) -> Maths:
        return Maths(other + self.text, other + self.latex)


@dataclass(frozen=True)
class Strong:
    """Prose set in bold in Markdown."""

    text: str


Piece = str | Maths | Strong  # a str is prose, the same in both forms
Line = tuple[Piece, ...]


@dataclass(frozen=True)
class Block:
    """A title, a paragraph, a list (`items`) or a displayed equation, as lines of pieces."""

    kind: str
    lines: tuple[Line, ...]


def _title(*pieces: Piece) -> Block:
    return Block("title", (pieces,))


def _para(*pieces: Piece) -> Block:
    return Block("para", (pieces,))


def _items(lines: Sequence[Line]) -> Block:
    return Block("items", tuple(lines))


def _display(formula: Maths) -> Block:
    return Block("display", ((formula,),))


class Writer:
    """Writes blocks as plain text or as Markdown with LaTeX maths: the one place either is made.

    In Markdown, prose is HTML-escaped and formulas go in `$...$` (names in them are escaped
    by `Names`), so no label becomes a live tag; in text, names show control characters as
    escapes, so no label starts a line of its own.
    """

    def __init__(self, markdown: bool) -> None:
        self.markdown = markdown

    def piece(self, piece: Piece) -> str:
        if isinstance(piece, Maths):
            return f"${piece.latex}$" if self.markdown else piece.text
        if isinstance(piece, Strong):
            return f"**{html.escape(piece.text)}**" if self.markdown else piece.text
        return html.escape(piece, quote=False) if self.markdown else piece

    def line(self, pieces: Line) -> str:
        return "".join(map(self.piece, pieces))

    def block(self, block: Block) -> list[str]:
        if block.kind == "title":
            line = self.line(block.lines[0])
            return [f"### {line}"] if self.markdown else [line, "=" * len(line)]
        if block.kind == "display":
            ((formula,),) = block.lines
            assert isinstance(formula, Maths)
            return ["$$", formula.latex, "$$"] if self.markdown else [f"  {formula.text}"]
        bullet = ("- " if self.markdown else "  ") if block.kind == "items" else ""
        return [bullet + self.line(line) for line in block.lines]

    def write(self, blocks: Sequence[Block]) -> str:
        lines: list[str] = []
        previous = None
        for block in blocks:
            # Markdown parts blocks by blank lines; text parts only paragraphs, not a title's
            if previous is not None and (
                self.markdown or (block.kind == "para" and previous.kind != "title")
            ):
                lines.append("")
            lines += self.block(block)
            previous = block
        return "\n".join(lines) + ("\n" if self.markdown else "")


# ---- what a derivation is made of ----


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
            f"over {_count(self.n_paths)}>"
        )

    def __str__(self) -> str:
        return Writer(markdown=False).write(self.blocks())

    def markdown(self) -> str:
        """The derivation in Markdown with LaTeX maths (GitHub and Jupyter render it)."""
        return Writer(markdown=True).write(self.blocks())

    def _repr_markdown_(self) -> str:
        return self.markdown()

    # ---- the blocks, written once for both forms ----

    def _name(self, node: Value) -> Maths:
        return Maths(self._names.text(node), self._names.latex(node))

    def _number(self, x: float, bracketed: bool = False) -> Maths:
        p = self._names.precision
        shown = Maths(number(x, p), latex_number(x, p))
        return "(" + shown + ")" if bracketed and shown.text.startswith("-") else shown

    def _chain(self, nodes: Sequence[Value]) -> Maths:
        """`a → b → c`, with only the two ends of a chain longer than MAX_CHAIN."""
        arrow, dots = Maths(" → ", r" \to "), Maths("...", r"\cdots")
        return _join(_ends(nodes, MAX_CHAIN), self._name, arrow, dots)

    def blocks(self) -> list[Block]:
        """The derivation as blocks of pieces: what `str()` and `.markdown()` write out."""
        root, wrt = self._name(self.root), self._name(self.wrt)
        whole = Maths(
            f"∂{root.text}/∂{wrt.text}", rf"\frac{{\partial {root.latex}}}{{\partial {wrt.latex}}}"
        )
        blocks = [_title(whole, " by the chain rule")]
        if self.n_paths == 0:
            reason = ": no path leads from it, so "
            return [*blocks, _para(root, " does not depend on ", wrt, reason, whole + " = 0", ".")]
        if self.wrt is self.root:
            itself = ": the derivative of a value with respect to itself."
            return [*blocks, _para(whole + " = 1", itself)]
        if self.n_paths == 1:
            intro = ("; the derivative is the product of the local derivatives along it.",)
            blocks.append(_para("1 path leads from ", wrt, " to ", root, *intro))
        else:
            rule = (
                ". Along each path the local derivatives multiply; "
                "the derivative is the sum over paths."
            )
            blocks.append(_para(f"{_count(self.n_paths)} lead from ", wrt, " to ", root, rule))
        blocks += self._branches()
        if self.definitions:
            lines: list[Line] = [(Maths(d.text, d.latex),) for d in self.definitions]
            if self.omitted_definitions:
                lines.append(
                    (f"... and {self.omitted_definitions:,} more (draw_graph shows them)",)
                )
            blocks += [_para(Strong("Names"), " for unlabelled values:"), _items(lines)]
        for k, path in enumerate(self.paths, 1):
            blocks += self._path(k, path)
        terms = [self._number(path.product) for path in self.paths]
        omitted = self.n_paths - len(self.paths)
        if omitted:
            rest = self._number(self.rest)
            blocks.append(
                _para(
                    f"... and {_count(omitted, 'more path')} not written, contributing ",
                    rest,
                    " in total.",
                )
            )
            terms.append(rest)
        total = self._number(self.total)
        if len(terms) > 1:
            added = terms[0]
            for term in terms[1:]:
                added = added + " + " + _bracketed(term)
            total = added + " = " + total
        blocks += [_para(Strong("Sum over paths")), _display(whole + " = " + total)]
        grad = (
            "This is the number ",
            wrt,
            ".grad holds after ",
            root,
            ".backward() from zero grads.",
        )
        return [*blocks, _para(*grad)]

    def _branches(self) -> list[Block]:
        """Where the paths part and what each branch contributes."""
        if not self.groups:
            return []
        branch = self._name(self.common[-1])
        if len(self.common) > 1:
            head = _para(
                "Every path starts ", self._chain(self.common), ", then branches at ", branch, ":"
            )
        else:
            head = _para("The paths leave ", branch, f" along {len(self.groups)} edges:")
        lines: list[Line] = []
        for group in self.groups[: self.max_paths]:
            via = self._name(group.via)
            if sum(g.via is group.via for g in self.groups) > 1:
                via = via + f" (argument {group.arg + 1})"
            lines.append(
                (
                    "via ",
                    via,
                    f": {_count(group.count)}, contributing ",
                    self._number(group.contribution),
                )
            )
        if len(self.groups) > self.max_paths:
            others = self.groups[self.max_paths :]
            share = self._number(math.fsum(g.contribution for g in others))
            lines.append((f"... and {len(others)} more branches, contributing ", share))
        return [head, _items(lines)]

    def _path(self, k: int, path: ChainPath) -> list[Block]:
        """One path: its nodes, its factors multiplied, then each factor's rule and number."""
        head = _para(
            Strong(f"Path {k}"), f" of {_how_many(self.n_paths)}: ", self._chain(path.nodes)
        )
        ends = path.ends()
        dots = Maths("...", r"\cdots")
        notations = _join(ends, _notation, Maths(" · ", r" \, "), dots)
        product = self._number(path.product)
        if len(path.factors) > 1:
            numbers = _join(
                ends,
                lambda f: self._number(f.value, bracketed=True),
                Maths(" × ", r" \cdot "),
                dots,
            )
            product = numbers + " = " + product
        lines: list[Line] = []
        for i, factor in enumerate(path.factors):
            if path.skipped and i == len(ends[0]):
                lines.append((f"... {_count(path.skipped, 'more factor')} ...",))
            value = self._number(factor.value)
            rule = Maths(factor.symbolic, factor.symbolic_latex)
            rhs = value if rule == value else rule + " = " + value
            lines.append((_notation(factor) + " = " + rhs,))
        if len(path.factors) == 1:  # its one factor, listed below, says it all
            return [head, _items(lines)]
        return [head, _display(notations + " = " + product), _items(lines)]


def _notation(factor: Factor) -> Maths:
    return Maths(factor.notation, factor.notation_latex)


def _bracketed(shown: Maths) -> Maths:
    return "(" + shown + ")" if shown.text.startswith("-") else shown


def _how_many(k: int, digits: int = 4) -> str:
    """A count with thousands separators, or in scientific form (1.178e4305) when it is huge.

    Python refuses to write an int of more than 4300 digits, and nobody reads one.
    """
    if k < EXACT_COUNT_BELOW:
        return f"{k:,}"
    exponent = int((k.bit_length() - 1) * math.log10(2))  # log10(k), rounded down, or one less
    while 10 ** (exponent + 1) <= k:
        exponent += 1
    unit = 10 ** (exponent - digits + 1)
    lead, remainder = divmod(k, unit)  # the first `digits` digits, rounded half up below
    lead += 2 * remainder >= unit
    if lead == 10**digits:
        lead, exponent = lead // 10, exponent + 1
    mantissa = str(lead)
    return f"{mantissa[0]}.{mantissa[1:]}".rstrip("0").rstrip(".") + f"e{exponent}"


def _count(k: int, noun: str = "path") -> str:
    return f"{_how_many(k)} {noun}{'s' * (k != 1)}"


def _ends(items: Sequence[T], keep: int) -> tuple[Sequence[T], Sequence[T]]:
    """All of `items`, or, when there are more than `keep`, the first and last keep // 2."""
    if len(items) <= keep:
        return items, ()
    return items[: keep // 2], items[len(items) - keep // 2 :]


def _join(
    ends: tuple[Sequence[T], Sequence[T]], write: Callable[[T], Maths], sep: Maths, ellipsis: Maths
) -> Maths:
    """Both ends written and joined by `sep`, with `ellipsis` between them when there are two."""
    joined = Maths("", "")
    for part, items in enumerate(ends):
        if part and items:
            joined = joined + sep + ellipsis
        for i, item in enumerate(items):
            joined = joined + (sep if i or part else "") + write(item)
    return joined


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
    if node.op is None:
        return Definition(
            node, name, f"{name} = {value} (an unlabelled leaf)", f"{tex_name} = {tex_value}"
        )
    args = [names.text(q) for q in node.parents]
    tex = [names.latex(q) for q in node.parents]
    text, latex = node.op.expression(args), node.op.expression(tex, latex=True)
    return Definition(
        node, name, f"{name} = {text} = {value}", f"{tex_name} = {latex} = {tex_value}"
    )


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


_REASONS: dict[type[Exception], str] = {
    OverflowError: "overflows a float",
    ZeroDivisionError: "divides by zero",
}


def _local_failure(node: Value, error: Exception, names: Names) -> Exception:
    """The error of a local derivative that cannot be computed, naming the op and its inputs."""
    assert node.op is not None
    args = [names.text(q) for q in node.parents]
    expression = node.op.expression(args)
    inputs = ", ".join(
        f"{names.text(q)} = {q.data!r}" for q in node.parents if not names.is_constant(q)
    )
    detail = error.args[-1] if len(error.args) == 2 else error  # OSError-style (34, 'why')
    reason = _REASONS.get(type(error), "is undefined")
    return type(error)(
        f"explain: the local derivative of {names.text(node)} = {expression} ({node.op.name}) "
        f"at {inputs or 'its fixed inputs'} {reason} ({detail})"
    )


def _overflow(
    error: Exception, chains: list[tuple[float, float, Any]], root: Value, wrt: Value, names: Names
) -> Exception:
    """Why the sweep found a non-finite gradient: the first factor at which a path overflows."""
    whole = f"∂{names.text(root)}/∂{names.text(wrt)}"
    for _, product, chain in chains:
        if math.isfinite(product):
            continue
        steps = []
        while chain is not None:
            node, arg, slope, chain = chain
            steps.append((node, arg, slope))
        running = 1.0
        for step in reversed(steps):  # from wrt on, to find where the product leaves floats
            running *= step[2]
            if not math.isfinite(running):
                break
        node, arg, slope = step
        path = " → ".join([names.text(wrt), *(names.text(n) for n, _, _ in reversed(steps))])
        factor, _ = _factor(node, arg, slope, names)
        definition = _definition(node, names).text.rsplit(" = ", 1)[0]
        op = node.op.name if node.op else "leaf"
        return OverflowError(
            f"explain: {whole} is not finite: the path {path} has the product "
            f"{number(product)}, which overflows at the factor {factor.notation} = "
            f"{number(slope)} ({op}: {definition})"
        )
    return type(error)(f"explain: {whole}: backward fails here too: {error}")


def explain(root: Value, wrt: Value, max_paths: int = 20, precision: int = 4) -> Derivation:
    """The chain-rule derivation of d(root)/d(wrt), path by path, with every factor's formula.

    At most `max_paths` paths are written, the largest |contribution| first; the rest are
    counted and summed in one line. Of a path longer than MAX_FACTORS only the factors at its
    two ends are written, and the product is still over all of them. Reads the graph only.
    Where `backward` would raise (a gradient that overflows, a local derivative undefined at
    its inputs), so does `explain`, with the same exception type, naming the op.
    """
    where = "explain"
    require_value(root, where, "root")
    require_value(wrt, where, "wrt")
    require_precision(precision, where)
    max_paths = size(max_paths, f"{where}: max_paths")

    order = topological_order(root)
    names = Names(order, precision, named=[wrt])
    partials: dict[Value, tuple[float, ...]] = {}

    def local(node: Value) -> tuple[float, ...]:
        if node not in partials:
            try:
                partials[node] = tuple(local_derivatives(node))
            except (ArithmeticError, ValueError) as error:
                raise _local_failure(node, error, names) from error
        return partials[node]

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
    try:
        adjoint = dict(zip(order, gradients(root, order), strict=True))
    except (ArithmeticError, ValueError) as error:
        for node in reversed(order):  # a local derivative backward could not compute
            if node.op is not None:
                local(node)
        raise _overflow(error, best.get(root, []), root, wrt, names) from error
    total = adjoint.get(wrt, 0.0)

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
    direct = sorted((q for q in mentioned if names.is_generated(q)), key=names.rank.__getitem__)
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
    chosen: Sequence[Value] = sorted([*direct, *extra], key=names.rank.__getitem__)
    return [_definition(q, names) for q in chosen], omitted
