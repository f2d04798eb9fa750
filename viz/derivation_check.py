"""Check a hand derivation: find where a learner's own numbers first went wrong.

`WorkedExample.check(claims)` compares the numbers a learner wrote for a worked example with the
engine's; `check_values(root, claims)` does the same for the `data` and `grad` of any graph's
nodes, given by label. A claim is wrong when it is off at the precision it was written (half a
unit in its last written decimal). A wrong claim is *carried* when its local rule, applied to the
learner's own earlier numbers, gives it: it follows from an earlier slip, so the learner has one
slip to fix, not ten. The report (`CheckReport`, a list of `Slip`) explains the first new one
with its rule written out in the learner's numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from autodiff import Value, checks, gradients, local_derivatives, topological_order
from viz.worked_rules import (
    _F_TEXT,
    _bracket,
    _fixed,
    _given,
    _public,
    _public_index,
    _rule,
    _Setup,
    _split,
    _within,
    _written_decimals,
)

# ---- the report ----


@dataclass(frozen=True)
class Slip:
    """A claimed number that is off at the precision it was written.

    `carried` is True when the claim is what the quantity's local rule gives from the learner's
    own earlier numbers (so it follows from an earlier slip or from rounding); `recomputed` is
    that number, `rule` the rule written with the learner's numbers.
    """

    key: str
    index: tuple[int, ...]
    claimed: str
    right: float
    carried: bool
    recomputed: float | None = None
    rule: str = ""

    @property
    def name(self) -> str:
        return self.key + (f"[{','.join(map(str, self.index))}]" if self.index else "")


class CheckReport:
    """What `check` found: `.slips` in computation order, `.checked` the numbers compared."""

    def __init__(self, slips: list[Slip], checked: int, what: str = "numbers") -> None:
        self.slips = slips
        self.checked = checked
        self._what = what

    @property
    def ok(self) -> bool:
        return not self.slips

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return f"<CheckReport: {self.checked} checked, {len(self.slips)} slips>"

    def __str__(self) -> str:
        if not self.slips:
            return f"All {self.checked} {self._what} are right at the precision they were written."
        new = [s for s in self.slips if not s.carried]
        lines = [
            f"{len(self.slips)} of {self.checked} {self._what} are off at the precision they "
            f"were written: {len(new)} new, {len(self.slips) - len(new)} carried from earlier "
            "numbers."
        ]
        if new:
            lines += _first_new_slip(new[0])
        lines += ["", "Every slip, in the order of the computation:"]
        width = max(len(s.name) for s in self.slips)
        for s in self.slips:
            kind = "carried" if s.carried else "NEW"
            lines.append(
                f"  {s.name.ljust(width)}  written {s.claimed:>10}  right {_right(s):>10}  {kind}"
            )
        if len(new) < len(self.slips):
            lines += [
                "",
                "A carried slip is right when recomputed from your own earlier numbers: fix the "
                "new slips and recompute, and it goes away.",
            ]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return "```\n" + str(self) + "\n```\n"


def _first_new_slip(first: Slip) -> list[str]:
    """The report's lines on the first new slip: where it is, and the rule that makes it."""
    lines = [
        "",
        f"The first new slip is {first.name}: written {first.claimed}, right {_right(first)}.",
    ]
    if first.rule:
        lines.append(f"  {first.rule}")
        if first.recomputed is not None:
            lines.append(
                f"  = {_right_digits(first.recomputed, first.claimed)} from your own "
                f"numbers, so the slip is made here."
            )
    return lines


def _right(slip: Slip) -> str:
    return _right_digits(slip.right, slip.claimed)


def _right_digits(x: float, claimed: str) -> str:
    """`x` at the claimed precision, with more digits after it when those are needed."""
    d = max(_written_decimals(claimed), 0)
    shown = _fixed(x, d)
    return shown if abs(float(shown) - x) < 1e-12 else f"{shown} ({_fixed(x, d + 2)}...)"


def _follows(claimed: Any, decimals: Any, recomputed: float | None) -> bool:
    """Whether a wrong claim is what its rule gives from the learner's own numbers (carried)."""
    return recomputed is not None and bool(_within(claimed, decimals, np.array(recomputed)))


# ---- the learner's claims, as written ----


def _claim_text(x: Any) -> str | None:
    """A claimed number as the learner wrote it ("-0.1500" keeps its zeros); None if no number."""
    if isinstance(x, str):
        return x.strip().replace("−", "-")
    if isinstance(x, bool) or not isinstance(x, int | float | np.number):
        return None
    return repr(float(x)) if isinstance(x, float | np.floating) else str(int(x))


def _flatten(claim: Any, where: str) -> tuple[list[Any], tuple[int, ...]]:
    """A nested list's entries in reading order, and its shape; ragged rows are refused."""
    flat: list[Any] = []
    stack: list[tuple[Any, int]] = [(claim, 0)]
    depth_sizes: dict[int, int] = {}
    while stack:  # without recursion, recording each level's length
        item, depth = stack.pop()
        if isinstance(item, list | tuple):
            if depth_sizes.setdefault(depth, len(item)) != len(item):
                raise ValueError(f"{where} must be a rectangular nested list (got ragged rows)")
            stack.extend((x, depth + 1) for x in reversed(item))
        else:
            flat.append(item)
    return flat, tuple(depth_sizes[d] for d in sorted(depth_sizes))


def _parse_claim(
    key: str, claim: Any, right: np.ndarray, setup: _Setup
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(texts, values, decimals) in the internal layout; "" where nothing was written."""
    where = f"check: claims[{key!r}]"
    public = _public(key, right, setup)
    if isinstance(claim, np.ndarray):
        claim = claim.tolist()
    flat, shape = _flatten(claim, where)
    if shape != public.shape:
        squeezed = tuple(s for s in shape if s != 1) == tuple(s for s in public.shape if s != 1)
        if not squeezed or len(flat) != public.size:
            raise ValueError(f"{where} must have shape {public.shape} (got {shape})")
    texts, values, decimals = [], [], []
    for i, x in enumerate(flat):
        if x is None:
            texts.append("")
            values.append(np.nan)
            decimals.append(0)
            continue
        text = _claim_text(x)
        if text is None:
            raise ValueError(
                f"{where} entries must be numbers or strings (got {checks.shown(x)} at {i})"
            )
        d = _written_decimals(text)
        texts.append(text)
        values.append(float(text))
        decimals.append(d)
    shaped = [
        np.array(a).reshape(public.shape).reshape(right.shape) for a in (texts, values, decimals)
    ]
    return shaped[0], shaped[1].astype(float), shaped[2].astype(int)


# ---- a worked example's claims ----


def _check_claims(
    claims: Mapping[str, Any], setup: _Setup, right: dict[str, np.ndarray], order: list[str]
) -> CheckReport:
    """`WorkedExample.check`: each claim against the `right` numbers, in computation order."""
    if not isinstance(claims, Mapping):
        raise TypeError(
            f"check: claims must be a mapping of keys to numbers (got {type(claims).__name__})"
        )
    unknown = [k for k in claims if k not in order]
    if unknown:
        raise ValueError(
            f"check: claims keys must be among {', '.join(order)} (got {unknown[0]!r})"
        )
    parsed = {k: _parse_claim(k, claims[k], right[k], setup) for k in order if k in claims}
    # the learner's numbers: claimed where written, right elsewhere; given ones as they are
    own = {**setup.given, **right}
    for k, (texts, values, _) in parsed.items():
        own[k] = np.where(texts != "", values, right[k])
    learner = _Learner(own, {k: texts for k, (texts, _, _) in parsed.items()}, setup)
    slips: list[Slip] = []
    checked = 0
    for key, (texts, values, decimals) in parsed.items():
        written = texts != ""
        checked += int(written.sum())
        wrong = written & ~_within(values, decimals, right[key])
        if not wrong.any():
            continue
        recomputed = _rule(key, own, setup)
        for index in (tuple(int(i) for i in ix) for ix in np.argwhere(wrong)):
            again = None if recomputed is None else float(np.asarray(recomputed)[index])
            slips.append(
                Slip(
                    key,
                    _public_index(key, index, setup),
                    str(texts[index]),
                    float(right[key][index]),
                    _follows(values[index], decimals[index], again),
                    again,
                    _entry_rule(key, index, learner),
                )
            )
    return CheckReport(slips, checked)


# ---- one entry's rule, written with the learner's numbers (for the first new slip) ----


class _Learner:
    """The learner's numbers, to write a rule with: as written where written, else the right
    ones (given numbers as given, computed ones to 6 significant digits)."""

    def __init__(
        self, own: Mapping[str, np.ndarray], written: Mapping[str, np.ndarray], setup: _Setup
    ) -> None:
        self.own = own
        self.written = written
        self.setup = setup

    def num(self, k: str, *at: int) -> str:
        """Entry `at` of quantity `k` as the learner has it; a negative one in brackets."""
        written = self.written
        text = str(written[k][at]) if k in written and written[k][at] != "" else ""
        if not text:
            x = float(np.asarray(self.own[k])[at])
            text = _given(x) if k[0] in "Wbt" or k == "a0" else f"{x:.6g}"
        return _bracket(text)

    def name(self, k: str, *at: int) -> str:
        """Entry `at` of quantity `k` by name, indexed as `.numbers` is: "z2[0]"."""
        return f"{k}[{','.join(map(str, _public_index(k, at, self.setup)))}]"


def _entry_rule(key: str, index: tuple[int, ...], learner: _Learner) -> str:
    """`key[index]`'s local rule written out with the learner's numbers, e.g. δ2[0] = ... × ..."""
    family, li = _split(key)
    if key == "E" or (family == "da" and li == len(learner.setup.activations)):
        return _loss_rule(key, index, learner)
    if family in ("z", "a", "fprime"):
        return _forward_rule(key, index, learner)
    return _backward_rule(key, index, learner)


def _loss_rule(key: str, index: tuple[int, ...], learner: _Learner) -> str:
    """The rule of the loss E, or of its slope ∂E/∂a at the output."""
    setup, num = learner.setup, learner.num
    n, m = len(setup.activations), setup.m
    if key == "E" and m == 1:
        pairs = [(num(f"a{n}", k, 0), num("t", k, 0)) for k in range(setup.sizes[-1])]
        return "E = " + _LOSS_TEXT[setup.loss] + " = " + _loss_numbers(setup, pairs)
    if key == "E":
        return f"E = {_LOSS_TEXT[setup.loss]}, averaged over the {m} samples, with your a{n}"
    j, col = index[0], 0 if len(index) < 2 else index[1]
    per = "" if m == 1 else f" / {m}"
    k = setup.sizes[-1] * m
    a, t = num(f"a{n}", j, col), num("t", j, col)
    form = {
        "half_sse": f"(a - t){per} = ({a} - {t}){per}",
        "mse": f"2(a - t) / {k} = 2({a} - {t}) / {k}",
        "bce": f"(a - t) / (a(1 - a)) / {k}, a = {a}, t = {t}",
        "softmax_ce": f"(softmax(a{n})[{j}] - t){per}, t = {t}",
    }[setup.loss]
    return f"{learner.name(key, *index)} = ∂E/∂{learner.name(f'a{n}', j, col)} = {form}"


def _forward_rule(key: str, index: tuple[int, ...], learner: _Learner) -> str:
    """The rule of z = W a + b, of a = f(z), or of f'(z)."""
    num, me = learner.num, learner.name(key, *index)
    family, li = _split(key)
    j, col = index[0], 0 if len(index) < 2 else index[1]
    if li == 0:  # a0 is the input itself: no rule makes it
        return f"{me} is the input x"
    if family == "z":
        width = learner.own[f"W{li}"].shape[1]
        terms = _products((num(f"W{li}", j, k), num(f"a{li - 1}", k, col)) for k in range(width))
        return f"{me} = Σ_k W{li}[{j},k] a{li - 1}[k] + b{li}[{j}] = {terms} + {num(f'b{li}', j)}"
    f = learner.setup.activations[li - 1]
    if family == "a":
        return f"{me} = {f}({learner.name(f'z{li}', j, col)}) = {f}({num(f'z{li}', j, col)})"
    a, z = num(f"a{li}", j, col), num(f"z{li}", j, col)
    form = {
        "sigmoid": f"a(1 - a) = {a} × (1 - {a})",
        "tanh": f"1 - a² = 1 - {a}²",
        "relu": f"1 if z > 0 else 0, z = {z}",
        "linear": "1",
    }[f]
    return f"{me} = {_F_TEXT[f] or f}'(z{li}[{j}]) = {form}"


def _backward_rule(key: str, index: tuple[int, ...], learner: _Learner) -> str:
    """The rule of ∂E/∂a sent back, of δ, of ∂E/∂W and ∂E/∂b, or of an update."""
    num, me, m = learner.num, learner.name(key, *index), learner.setup.m
    family, li = _split(key)
    j, col = index[0], 0 if len(index) < 2 else index[1]
    if family == "da":
        width = learner.own[f"W{li + 1}"].shape[0]
        terms = _products(
            (num(f"W{li + 1}", k, j), num(f"delta{li + 1}", k, col)) for k in range(width)
        )
        return f"{me} = Σ_k W{li + 1}[k,{j}] delta{li + 1}[k] = {terms}"
    if family == "delta":
        return (
            f"{me} = da{li} × fprime{li} = {num(f'da{li}', j, col)} × {num(f'fprime{li}', j, col)}"
        )
    if family == "dW":
        k = index[1]
        terms = _products((num(f"delta{li}", j, i), num(f"a{li - 1}", k, i)) for i in range(m))
        total = (
            f"delta{li}[{j}] × a{li - 1}[{k}]"
            if m == 1
            else f"Σ_i delta{li}[{j},i] a{li - 1}[{k},i]"
        )
        return f"{me} = {total} = {terms}"
    if family == "db":
        terms = " + ".join(num(f"delta{li}", j, i) for i in range(m))
        return f"{me} = {f'delta{li}[{j}]' if m == 1 else f'Σ_i delta{li}[{j},i]'} = {terms}"
    if family in ("W_new", "b_new"):
        p = "W" if family == "W_new" else "b"
        return (
            f"{me} = {p}{li} - η d{p}{li} = {num(f'{p}{li}', *index)} - "
            f"{_given(learner.setup.lr or 0.0)} × {num(f'd{p}{li}', *index)}"
        )
    return ""


def _products(pairs: Iterable[tuple[str, str]]) -> str:
    """A sum of products written out: "x1 × y1 + x2 × y2"."""
    return " + ".join(f"{x} × {y}" for x, y in pairs)


_LOSS_TEXT = {
    "half_sse": "½ Σ (a - t)²",
    "mse": "Σ (a - t)² / outputs",
    "bce": "-Σ [t log a + (1 - t) log(1 - a)] / outputs",
    "softmax_ce": "log Σ exp(a) - Σ t a",
}


def _loss_numbers(setup: _Setup, pairs: list[tuple[str, str]]) -> str:
    """One sample's loss written with the numbers in `pairs` (output, target)."""
    k = len(pairs)
    if setup.loss in ("half_sse", "mse"):
        inner = " + ".join(f"({a} - {t})²" for a, t in pairs)
        return f"½ [{inner}]" if setup.loss == "half_sse" else f"[{inner}] / {k}"
    if setup.loss == "bce":
        inner = " + ".join(f"{t} log {a} + (1 - {t}) log(1 - {a})" for a, t in pairs)
        return f"-[{inner}] / {k}"
    exps = " + ".join(f"exp({a})" for a, _ in pairs)
    dots = " + ".join(f"{t} × {a}" for a, t in pairs)
    return f"log({exps}) - ({dots})"


# ---- any graph's claims, by label ----


def check_values(root: Value, claims: Mapping[str, Any]) -> CheckReport:
    """Check claimed `data` and `grad` numbers of a graph's nodes, given by label.

    `claims` maps a label to a number or string (its data) or to a mapping with "data" and/or
    "grad" (the grad is d(root)/d(node), as backward from `root` alone gives it). Same rule and
    report as `WorkedExample.check`; a grad slip is carried when the sum over the nodes that use
    the node (local derivative x their grad, with your grads where you gave them) gives it.
    The graph is only read: no `.grad` changes.
    """
    where = "check_values"
    if not isinstance(root, Value):
        raise TypeError(f"{where}: root must be a Value (got {type(root).__name__})")
    if not isinstance(claims, Mapping):
        raise TypeError(
            f"{where}: claims must be a mapping of labels (got {type(claims).__name__})"
        )
    order = topological_order(root)
    wanted = _claims_by_node(order, claims, where)
    grads = dict(zip(map(id, order), gradients(root, order), strict=True))
    users: dict[int, list[tuple[Value, float]]] = {}
    for node in order:
        for parent, local in zip(node.parents, local_derivatives(node), strict=False):
            users.setdefault(id(parent), []).append((node, float(local)))

    def own_grad(node: Value) -> float:
        text = wanted.get(node, {}).get("grad")
        return float(text) if text is not None else float(grads[id(node)])

    slips: list[Slip] = []
    checked = 0
    for node in order:
        for field, text in wanted.get(node, {}).items():
            checked += 1
            right = node.data if field == "data" else float(grads[id(node)])
            claimed, d = np.array(float(text)), np.array(_written_decimals(text))
            if _within(claimed, d, np.array(right)):
                continue
            again, rule = None, ""
            if field == "grad" and node is not root:
                parts = users.get(id(node), [])
                again = math.fsum(local * own_grad(user) for user, local in parts)
                rule = f"{node.label}.grad = Σ over its users of local derivative × grad = " + (
                    " + ".join(f"{local:.6g} × {own_grad(user):.6g}" for user, local in parts)
                    or "0"
                )
            carried = _follows(claimed, d, again)
            slips.append(Slip(f"{node.label}.{field}", (), text, right, carried, again, rule))
    return CheckReport(slips, checked)


def _claims_by_node(
    order: list[Value], claims: Mapping[str, Any], where: str
) -> dict[Value, dict[str, str]]:
    """Each claimed node with its claimed fields as written; each label must name one node."""
    by_label: dict[str, list[Value]] = {}
    for node in order:
        if node.label:
            by_label.setdefault(node.label, []).append(node)
    wanted: dict[Value, dict[str, str]] = {}
    for label, claim in claims.items():
        nodes = by_label.get(label, [])
        if len(nodes) != 1:
            found = "no node" if not nodes else f"{len(nodes)} nodes"
            raise ValueError(
                f"{where}: claims keys must each label exactly one node of the graph "
                f"({found} labelled {label!r})"
            )
        fields = claim if isinstance(claim, Mapping) else {"data": claim}
        bad = [k for k in fields if k not in ("data", "grad")]
        if bad:
            raise ValueError(
                f"{where}: claims[{label!r}] must have 'data' or 'grad' (got {bad[0]!r})"
            )
        wanted[nodes[0]] = {}
        for k, v in fields.items():
            text = _claim_text(v)
            if text is None:
                raise ValueError(
                    f"{where}: claims[{label!r}][{k!r}] must be a number or a string of one "
                    f"(got {checks.shown(v)})"
                )
            _written_decimals(text)
            wanted[nodes[0]][k] = text
    return wanted
