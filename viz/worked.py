"""worked_example: one forward and backward pass of an MLP, written out the way the notes do it.

The notes this project grew from work a small sigmoid network by hand: z = W a + b with the actual
matrices, the activation, the loss, then the delta recursion from the last layer down
(δ_L = ∂E/∂a_L ⊙ f'(z_L), δ_l = (W_{li+1})ᵀ δ_{li+1} ⊙ f'(z_l)), each layer's ∂E/∂W = δ aᵀ and
∂E/∂b, and the update W - η ∂E/∂W. `worked_example` writes that document for any MLP, one
input or a batch (samples as columns, means over m, the form of note 004), in English or in the
notes' Chinese. Every number is read off the engine's graph (one forward, one backward); the
closed forms of `viz.worked_rules` serve only to decide how many digits to print, so that each
printed step follows from the printed numbers before it, and to tell a learner's carried slips
from new ones in `WorkedExample.check` (`viz.derivation_check`). `viz.notes_writer` writes the
document.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autodiff import (
    Value,
    checks,
    gradients,
    local_derivatives,
    logsumexp,
    sum_values,
)
from viz.derivation_check import CheckReport, _check_claims
from viz.notes_writer import LANGS, _render
from viz.worked_rules import (
    _APPLY,
    _given_grid,
    _inputs,
    _order,
    _printed,
    _public,
    _rule,
    _Setup,
    _within,
    _written_decimals,
)

LOSSES = ("half_sse", "mse", "bce", "softmax_ce")
MAX_EXTRA_DIGITS = 2  # how far past `precision` a quantity's digits grow so steps follow


def worked_example(
    model: Any,
    x: Any,
    target: Any,
    loss: str = "half_sse",
    lr: float | None = None,
    lang: str = "en",
    precision: int = 4,
) -> WorkedExample:
    """One forward and backward pass of `model` on `x` written out as the notes write it.

    `x` is one input (a vector, or a number when the model has one input) or a batch of m rows;
    `target` likewise (for one output, a batch's targets may be a vector of m numbers). `loss`
    is one of "half_sse" (½ Σ (a - t)²), "mse", "bce" (the outputs read as probabilities) and
    "softmax_ce" (softmax of the outputs); over a batch each is the mean over the m samples.
    With `lr` the document ends with the update W - lr ∂E/∂W. `lang` is "en" or "zh".
    `precision`: at least this many decimals (and significant digits), more for a quantity
    whose printed digits would not reproduce the next printed step. The model is only read:
    its parameters' numbers and `.grad` stay as they were.
    """
    where = "worked_example"
    layers, activations, sizes = _model_parts(model)
    loss = checks.one_of(loss, LOSSES, f"{where}: loss")
    lang = checks.one_of(lang, LANGS, f"{where}: lang")
    if isinstance(precision, bool) or not isinstance(precision, int) or not 1 <= precision <= 10:
        raise ValueError(
            f"{where}: precision must be an int from 1 to 10 (got {checks.shown(precision)})"
        )
    if lr is not None:
        lr = checks.number(lr, f"{where}: lr")
        if lr <= 0:
            raise ValueError(f"{where}: lr must be a positive number (got {lr!r})")
    rows, single = _rows(x, sizes[0], f"{where}: x")
    m = rows.shape[0]
    t = _targets(target, sizes[-1], m, single, loss)
    given: dict[str, np.ndarray] = {"t": t}
    for li, layer in enumerate(layers, 1):
        given[f"W{li}"] = np.array([[w.data for w in neuron.w] for neuron in layer.neurons])
        given[f"b{li}"] = np.array([neuron.b.data for neuron in layer.neurons])
    setup = _Setup(activations, sizes, loss, m, single, lr, given)
    graph = _run(layers, setup, rows.T.copy())
    given_text = {k: _given_grid(v) for k, v in given.items()}
    given_text["a0"] = _given_grid(rows.T)
    return WorkedExample(setup, graph, lang, precision, given_text)


@dataclass
class _Graph:
    """What the engine's pass gives: each quantity's numbers, and what the document shows of
    the loss ("terms" of each sample, "per_sample") and of each layer's activation (its op)."""

    numbers: dict[str, np.ndarray]
    loss_parts: dict[str, np.ndarray]
    slope_ops: dict[int, Any]


class WorkedExample:
    """One forward and backward pass written out: `str()` text, `.markdown()` LaTeX.

    `.numbers` maps each quantity to a numpy array. For a single input, vectors are 1-D: "a0"
    (nin,), "z1", "a1", "da1", "fprime1", "delta1" (n1,); for a batch of m rows they are columns,
    (n, m). "E" is a 0-d array; "dW1" and "W1_new" are n1 x nin; "db1" and "b1_new" (n1,). "da1"
    is ∂E/∂a^[1] and "fprime1" f'(z^[1]), the two factors of δ^[1] = ∂E/∂z^[1].
    """

    def __init__(
        self, setup: _Setup, graph: _Graph, lang: str, precision: int, given_text: dict
    ) -> None:
        self._setup = setup
        self._graph = graph
        self.lang = lang
        self.precision = precision
        self._given_text = given_text
        self.order = _order(setup)
        self.digits = _choose_digits(setup, graph.numbers, given_text, precision, self.order)
        self.numbers = {k: _public(k, graph.numbers[k], setup) for k in self.order}

    @property
    def loss(self) -> str:
        return self._setup.loss

    # ---- printing ----
    def printed(self, key: str) -> np.ndarray:
        """The strings the document writes for `key`, in the internal column layout."""
        return _printed(self._graph.numbers[key], self.digits[key])

    def __str__(self) -> str:
        return _render(self, latex=False)

    def markdown(self) -> str:
        """The document in Markdown with LaTeX maths (bmatrix), as Jupyter and GitHub show it."""
        return _render(self, latex=True)

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def __repr__(self) -> str:
        sizes = "-".join(map(str, self._setup.sizes))
        E = float(self.numbers["E"])
        return f"<WorkedExample {sizes} network, loss {self.loss!r}, E = {E:.6g}>"

    # ---- the checker ----
    def check(self, claims: Mapping[str, Any]) -> CheckReport:
        """Compare a learner's numbers with the right ones; see `CheckReport` and `Slip`.

        `claims` maps keys of `.numbers` to what was written: numbers, or strings to keep
        trailing zeros ("-0.1500"); nested lists for vectors and matrices in `.numbers`' shapes
        (None for an entry not written). A claim is a slip when it is off by more than half a unit
        in its last written decimal.
        """
        return _check_claims(claims, self._setup, self._graph.numbers, self.order)


# ---- the arguments ----


def _model_parts(model: Any) -> tuple[list[Any], tuple[str, ...], tuple[int, ...]]:
    """The model's layers, their activations and the sizes (nin, then each layer's nout)."""
    layers = getattr(model, "layers", None)
    if (
        not isinstance(layers, Sequence)
        or not layers
        or not all(
            hasattr(layer, "neurons") and getattr(layer, "activation", None) in _APPLY
            for layer in layers
        )
    ):
        raise TypeError(
            f"worked_example: model must be an nn.MLP (got {type(model).__name__} "
            f"{checks.shown(model)})"
        )
    sizes = (layers[0].nin, *(layer.nout for layer in layers))
    return list(layers), tuple(layer.activation for layer in layers), sizes


def _rows(obj: Any, width: int, where: str) -> tuple[np.ndarray, bool]:
    """One vector (or one number when width is 1), or a batch of rows; (rows, single)."""
    if width == 1 and isinstance(obj, int | float | np.number) and not isinstance(obj, bool):
        return np.array([[checks.number(obj, where)]]), True
    is_batch = (isinstance(obj, np.ndarray) and obj.ndim == 2) or (
        isinstance(obj, list | tuple)
        and bool(obj)
        and isinstance(obj[0], list | tuple | np.ndarray)
    )
    if is_batch:
        return np.array(checks.matrix(obj, (None, width), where)), False
    return np.array([checks.vector(obj, width, where)]), True


def _targets(target: Any, nout: int, m: int, single: bool, loss: str) -> np.ndarray:
    """The targets as columns, one a sample, checked against what the loss reads."""
    where = "worked_example: target"
    if single:
        rows, _ = _rows(target, nout, where)
        if rows.shape[0] != 1:
            raise ValueError(f"{where} must be one vector of {nout} numbers, as x is one input")
    elif nout == 1 and not (isinstance(target, np.ndarray) and target.ndim == 2):
        flat = checks.vector(
            target.tolist() if isinstance(target, np.ndarray) else list(target), m, where
        )
        rows = np.array(flat)[:, None]
    else:
        rows = np.array(checks.matrix(target, (m, nout), where))
    if loss == "bce" and ((rows < 0) | (rows > 1)).any():
        raise ValueError(
            f"{where} must lie in [0, 1] for the 'bce' loss (got {rows.tolist()!r:.40})"
        )
    if loss == "softmax_ce" and (
        (rows < 0).any() or not np.allclose(rows.sum(axis=1), 1.0, rtol=0, atol=1e-9)
    ):
        raise ValueError(
            f"{where} must be probabilities summing to 1 per sample for the 'softmax_ce' loss "
            f"(got {rows.tolist()!r:.40})"
        )
    return rows.T


# ---- the pass through the engine ----

_Nodes = list[list[list[Value]]]  # [layer][sample][unit]


def _run(layers: list[Any], setup: _Setup, a0: np.ndarray) -> _Graph:
    """One forward and one backward through the engine, numbers read off the graph's nodes."""
    n = len(layers)
    zs, acts, sample_losses, terms = _forward(layers, setup, a0)
    E = sample_losses[0] if setup.m == 1 else sum_values(sample_losses) / setup.m
    params = [p for layer in layers for neuron in layer.neurons for p in (*neuron.w, neuron.b)]
    nodes = [
        v for li in range(1, n + 1) for grid in (zs[li], acts[li]) for row in grid for v in row
    ]
    grads = dict(zip(map(id, nodes + params), gradients(E, nodes + params), strict=True))

    def grid(values: list[list[Value]], read: Callable[[Value], float]) -> np.ndarray:
        return np.array([[read(v) for v in row] for row in values], dtype=float).T

    def grad(v: Value) -> float:
        return float(grads[id(v)])

    numbers: dict[str, np.ndarray] = {"a0": a0}
    for li in range(1, n + 1):
        numbers[f"z{li}"] = grid(zs[li], lambda v: v.data)
        numbers[f"a{li}"] = grid(acts[li], lambda v: v.data)
    numbers["E"] = np.array(E.data)
    slope_ops: dict[int, Any] = {}
    for li in range(n, 0, -1):
        layer = layers[li - 1]
        numbers[f"da{li}"] = grid(acts[li], grad)
        if layer.activation == "linear":
            numbers[f"fprime{li}"] = np.ones_like(numbers[f"z{li}"])
        else:
            numbers[f"fprime{li}"] = grid(acts[li], lambda v: float(local_derivatives(v)[0]))
            slope_ops[li] = acts[li][0][0].op
        numbers[f"delta{li}"] = grid(zs[li], grad)
        numbers[f"dW{li}"] = np.array([[grad(w) for w in neuron.w] for neuron in layer.neurons])
        numbers[f"db{li}"] = np.array([grad(neuron.b) for neuron in layer.neurons])
    if setup.lr is not None:
        for li in range(1, n + 1):
            numbers[f"W{li}_new"] = setup.given[f"W{li}"] - setup.lr * numbers[f"dW{li}"]
            numbers[f"b{li}_new"] = setup.given[f"b{li}"] - setup.lr * numbers[f"db{li}"]
    loss_parts = {
        "terms": np.array([[v.data for v in row] for row in terms]),  # samples x terms
        "per_sample": np.array([v.data for v in sample_losses]),
    }
    return _Graph(numbers, loss_parts, slope_ops)


def _forward(
    layers: list[Any], setup: _Setup, a0: np.ndarray
) -> tuple[_Nodes, _Nodes, list[Value], list[list[Value]]]:
    """Each sample through the model: the nodes of z and a per layer, each sample's loss node
    and the nodes of its terms."""
    n = len(layers)
    zs: _Nodes = [[] for _ in range(n + 1)]
    acts: _Nodes = [[] for _ in range(n + 1)]
    sample_losses, terms = [], []
    for i in range(setup.m):
        acts[0].append([Value(float(v), f"x[{k}]") for k, v in enumerate(a0[:, i])])
        for li, layer in enumerate(layers, 1):
            out = layer(acts[li - 1][i])
            out = out if isinstance(out, list) else [out]
            linear = layer.activation == "linear"
            zs[li].append(out if linear else [a.parents[0] for a in out])
            acts[li].append(out)
        outputs = acts[n][i]
        if setup.loss == "bce":
            for k, a in enumerate(outputs):
                if not 0.0 < a.data < 1.0:
                    raise ValueError(
                        "worked_example: the 'bce' loss reads the outputs as probabilities, so "
                        f"they must lie strictly between 0 and 1 (got {a.data!r} for output {k} "
                        f"of sample {i}); use a sigmoid output layer"
                    )
        loss, parts = _sample_loss(outputs, setup.given["t"][:, i], setup.loss)
        sample_losses.append(loss)
        terms.append(parts)
    return zs, acts, sample_losses, terms


def _sample_loss(outputs: list[Value], targets: np.ndarray, loss: str) -> tuple[Value, list[Value]]:
    """One sample's loss node, and the nodes of its terms (shown in the document)."""
    n = len(outputs)
    if loss in ("half_sse", "mse"):
        terms = [(a - float(t)) ** 2 for a, t in zip(outputs, targets, strict=True)]
        total = sum_values(terms)
        return (0.5 * total if loss == "half_sse" else total / n), terms
    if loss == "bce":
        terms = []
        for a, t in zip(outputs, targets, strict=True):
            t = float(t)
            if t == 1.0:
                terms.append(a.log())
            elif t == 0.0:
                terms.append((1.0 - a).log())
            else:
                terms.append(t * a.log() + (1.0 - t) * (1.0 - a).log())
        return sum_values(terms) * (-1.0 / n), terms
    lse = logsumexp(outputs)
    dot = sum_values([float(t) * a for a, t in zip(outputs, targets, strict=True)])
    return lse - dot, [lse, dot]


# ---- digits: as few as the notes use, more where a step would not follow from the printed ----


def _as_numbers(texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Written numbers read back: their values and their written decimals."""
    values = np.array([float(t) for t in texts.ravel()]).reshape(texts.shape)
    decimals = np.array([_written_decimals(t) for t in texts.ravel()]).reshape(texts.shape)
    return values, decimals


def _choose_digits(
    setup: _Setup,
    numbers: dict[str, np.ndarray],
    given_text: dict[str, np.ndarray],
    precision: int,
    order: list[str],
) -> dict[str, int]:
    """Digits per quantity: `precision`, raised for the inputs of any step that the printed
    inputs would not reproduce at its printed precision, up to MAX_EXTRA_DIGITS more."""
    digits = dict.fromkeys(order, precision)
    given = {k: _as_numbers(v)[0] for k, v in given_text.items()}
    derived = [k for k in order if k != "a0"]
    for _ in range(len(order) * MAX_EXTRA_DIGITS + 1):
        shown = dict(given)
        written = {}
        for k in derived:
            written[k] = _as_numbers(_printed(numbers[k], digits[k]))
            shown[k] = written[k][0]
        bumped = False
        for k in derived:
            again = _rule(k, shown, setup)
            if again is None or _within(written[k][0], written[k][1], again).all():
                continue
            for source in _inputs(k, setup):
                if (
                    source in digits
                    and source != "a0"
                    and digits[source] < precision + MAX_EXTRA_DIGITS
                ):
                    digits[source] += 1
                    bumped = True
            if bumped:
                break
        if not bumped:
            break
    return digits
