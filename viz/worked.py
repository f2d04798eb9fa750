"""worked_example: one forward and backward pass of an MLP, written out the way the notes do it.

The notes this project grew from work a small sigmoid network by hand: z = W a + b with the actual
matrices, the activation, the loss, then the delta recursion from the last layer down
(δ_L = ∂E/∂a_L ⊙ f'(z_L), δ_l = (W_{li+1})ᵀ δ_{li+1} ⊙ f'(z_l)), each layer's ∂E/∂W = δ aᵀ and
∂E/∂b, and the update W - η ∂E/∂W. `worked_example` writes that document for any MLP, one
input or a batch (samples as columns, means over m, the form of note 004), in English or in the
notes' Chinese. Every number is read off the engine's graph (one forward, one backward); the
closed forms here serve only to decide how many digits to print, so that each printed step
follows from the printed numbers before it, and to tell a learner's carried slips from new ones
in `WorkedExample.check`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from autodiff import (
    Value,
    checks,
    gradients,
    local_derivatives,
    logsumexp,
    sum_values,
    topological_order,
)

LOSSES = ("half_sse", "mse", "bce", "softmax_ce")
LANGS = ("en", "zh")
MAX_EXTRA_DIGITS = 2  # how far past `precision` a quantity's digits grow so steps follow

_ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
_F_TEXT = {"sigmoid": "σ", "tanh": "tanh", "relu": "relu", "linear": ""}
_F_LATEX = {"sigmoid": r"\sigma", "tanh": r"\tanh", "relu": r"\operatorname{relu}", "linear": ""}
_SLACK = 1e-9  # float noise allowed on top of half a unit in the last written decimal


# ---- the words, in both languages ----

_WORDS = {
    "title": ("Worked example", "计算实例"),
    "forward": ("1. Forward pass", "1. 前向传播"),
    "backward": ("2. Backward pass", "2. 反向传播"),
    "update": ("3. Update", "3. 更新"),
    "loss": ("Loss", "损失函数"),
    "input": ("input", "输入"),
    "target": ("target", "设目标输出"),
    "params": ("weights and bias", "权重、偏置"),
    "linear": ("linear part", "线性部分"),
    "activation": ("activation", "激活"),
    "output_grad": ("gradient at the output", "输出层误差"),
    "back": ("error sent back", "传播误差"),
    "slope": ("derivative of the activation", "激活函数的导数"),
    "delta": ("error δ = ∂E/∂z", "误差 δ = ∂E/∂z"),
    "grads": ("gradients", "梯度"),
    "rate": ("learning rate", "学习率"),
    "per_sample": ("loss per sample", "每个样本的损失"),
    "mean": ("mean over the samples", "对样本求平均"),
}


def _word(key: str, lang: str) -> str:
    return _WORDS[key][LANGS.index(lang)]


_ZH_DIGITS = "零一二三四五六七八九"


def _zh_number(n: int) -> str:
    """1..99 in Chinese numerals, as the notes number their layers (第一层, 第十二层)."""
    tens, ones = divmod(n, 10)
    if not tens:
        return _ZH_DIGITS[ones]
    head = "" if tens == 1 else _ZH_DIGITS[tens]
    return head + "十" + (_ZH_DIGITS[ones] if ones else "")


def _layer_heading(li: int, n_layers: int, lang: str, backward: bool) -> str:
    if lang == "zh":
        name = f"第{_zh_number(li)}层" if li < 100 else f"第 {li} 层"
        if backward:
            return ("输出层梯度" if li == n_layers else "隐藏层梯度") + f"（{name}）"
        return name
    if backward and li == n_layers:
        return f"Output layer (layer {li})"
    return f"Layer {li}"


# ---- numbers as the document writes them ----


def _decimals(x: float, precision: int) -> int:
    """`precision` decimals as the notes write them, and two significant digits at least."""
    if x == 0 or not math.isfinite(x):
        return precision
    return min(max(precision, 1 - math.floor(math.log10(abs(x)))), 17)


def _fixed(x: float, decimals: int) -> str:
    text = f"{x:.{decimals}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def _given(x: float) -> str:
    """A given number (input, weight, target): as short as it is, 6 digits at most."""
    text = np.format_float_positional(x, precision=6, unique=True, fractional=False, trim="-")
    return "0" if text == "-0" else text


def _written_decimals(text: str) -> int:
    """Decimals of the last written digit of `text` ("-0.1500" has 4, "1.5e-4" has 5)."""
    try:
        exponent = Decimal(text.strip()).as_tuple().exponent
    except InvalidOperation:
        raise ValueError(f"check: a claim must be a number (got {text!r})") from None
    if not isinstance(exponent, int):
        raise ValueError(f"check: a claim must be a finite number (got {text!r})")
    return -exponent


# ---- the pass through the engine ----


@dataclass(frozen=True)
class _Setup:
    activations: tuple[str, ...]
    sizes: tuple[int, ...]  # nin, then each layer's nout
    loss: str
    m: int
    single: bool
    lr: float | None
    given: dict[str, np.ndarray]  # W1, b1, ..., t (columns), as the model holds them


def _column_keys(setup: _Setup) -> set[str]:
    n = len(setup.activations)
    keys = {"a0", "t"}
    for li in range(1, n + 1):
        keys |= {f"z{li}", f"a{li}", f"da{li}", f"fprime{li}", f"delta{li}"}
    return keys


def _order(setup: _Setup) -> list[str]:
    """Every quantity's key, in the order the notes compute them."""
    n = len(setup.activations)
    keys = ["a0"]
    for li in range(1, n + 1):
        keys += [f"z{li}", f"a{li}"]
    keys.append("E")
    for li in range(n, 0, -1):
        keys += [f"da{li}", f"fprime{li}", f"delta{li}", f"dW{li}", f"db{li}"]
    if setup.lr is not None:
        for li in range(1, n + 1):
            keys += [f"W{li}_new", f"b{li}_new"]
    return keys


def _model_parts(model: Any) -> tuple[list[Any], tuple[str, ...], tuple[int, ...]]:
    layers = getattr(model, "layers", None)
    if (
        not isinstance(layers, Sequence)
        or not layers
        or not all(
            hasattr(layer, "neurons") and getattr(layer, "activation", None) in _ACTIVATIONS
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


@dataclass
class _Graph:
    numbers: dict[str, np.ndarray]
    loss_parts: dict[str, np.ndarray]
    slope_ops: dict[int, Any]


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


def _run(layers: list[Any], setup: _Setup, a0: np.ndarray) -> _Graph:
    """One forward and one backward through the engine, numbers read off the graph's nodes."""
    n, m = len(layers), setup.m
    t = setup.given["t"]
    zs: list[list[list[Value]]] = [[] for _ in range(n + 1)]  # [layer][sample][unit]
    acts: list[list[list[Value]]] = [[] for _ in range(n + 1)]
    sample_losses, terms = [], []
    for i in range(m):
        xs = [Value(float(v), f"x[{k}]") for k, v in enumerate(a0[:, i])]
        acts[0].append(xs)
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
        loss, parts = _sample_loss(outputs, t[:, i], setup.loss)
        sample_losses.append(loss)
        terms.append(parts)
    E = sample_losses[0] if m == 1 else sum_values(sample_losses) / m
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


# ---- each quantity's local rule, in numpy: for choosing digits and for telling carried slips ----


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


_APPLY: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "linear": lambda z: z,
}
_SLOPE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "sigmoid": lambda z, a: a * (1.0 - a),
    "tanh": lambda z, a: 1.0 - a * a,
    "relu": lambda z, a: (z > 0).astype(float),
    "linear": lambda z, a: np.ones_like(z),
}


def _inputs(key: str, setup: _Setup) -> list[str]:
    """The quantities `key`'s local rule reads (given ones included: W1, b1, t)."""
    n = len(setup.activations)
    if key == "E":
        return [f"a{n}", "t"]
    family, li = _split(key)
    return {
        "z": [f"W{li}", f"a{li - 1}", f"b{li}"],
        "a": [f"z{li}"],
        "da": [f"a{li}", "t"] if li == n else [f"W{li + 1}", f"delta{li + 1}"],
        "fprime": [f"z{li}", f"a{li}"],
        "delta": [f"da{li}", f"fprime{li}"],
        "dW": [f"delta{li}", f"a{li - 1}"],
        "db": [f"delta{li}"],
        "W_new": [f"W{li}", f"dW{li}"],
        "b_new": [f"b{li}", f"db{li}"],
    }.get(family, [])


def _split(key: str) -> tuple[str, int]:
    """("dW", 2) for "dW2", ("W_new", 1) for "W1_new", ("a", 0) for "a0"."""
    if key.endswith("_new"):
        return key[0] + "_new", int(key[1:-4])
    stem = key.rstrip("0123456789")
    return stem, int(key[len(stem) :]) if key[len(stem) :] else 0


def _loss_value(a: np.ndarray, t: np.ndarray, loss: str) -> np.ndarray:
    n, m = a.shape
    with np.errstate(all="ignore"):
        if loss == "half_sse":
            return np.array(0.5 * np.sum((a - t) ** 2) / m)
        if loss == "mse":
            return np.array(np.sum((a - t) ** 2) / (n * m))
        if loss == "bce":
            terms = np.where(t > 0, t * np.log(a), 0.0) + np.where(
                t < 1, (1 - t) * np.log(1 - a), 0
            )
            return np.array(-np.sum(terms) / (n * m))
        top = a.max(axis=0)
        lse = top + np.log(np.exp(a - top).sum(axis=0))
        return np.array(np.sum(lse - (t * a).sum(axis=0)) / m)


def _loss_slope(a: np.ndarray, t: np.ndarray, loss: str) -> np.ndarray:
    n, m = a.shape
    with np.errstate(all="ignore"):
        if loss == "half_sse":
            return (a - t) / m
        if loss == "mse":
            return 2 * (a - t) / (n * m)
        if loss == "bce":
            return (a - t) / (a * (1 - a)) / (n * m)
        e = np.exp(a - a.max(axis=0))
        return (e / e.sum(axis=0) - t) / m


def _rule(key: str, v: Mapping[str, np.ndarray], setup: _Setup) -> np.ndarray | None:
    """`key` recomputed from the numbers in `v` by its own rule; None for the input a0."""
    n = len(setup.activations)
    if key == "E":
        return _loss_value(v[f"a{n}"], v["t"], setup.loss)
    family, li = _split(key)
    act = setup.activations[li - 1] if li else "linear"
    with np.errstate(all="ignore"):
        if family == "z":
            return v[f"W{li}"] @ v[f"a{li - 1}"] + v[f"b{li}"][:, None]
        if family == "a" and li:
            return _APPLY[act](v[f"z{li}"])
        if family == "da":
            if li == n:
                return _loss_slope(v[f"a{li}"], v["t"], setup.loss)
            return v[f"W{li + 1}"].T @ v[f"delta{li + 1}"]
        if family == "fprime":
            return _SLOPE[act](v[f"z{li}"], v[f"a{li}"])
        if family == "delta":
            return v[f"da{li}"] * v[f"fprime{li}"]
        if family == "dW":
            return v[f"delta{li}"] @ v[f"a{li - 1}"].T
        if family == "db":
            return v[f"delta{li}"].sum(axis=1)
        if family == "W_new":
            return v[f"W{li}"] - setup.lr * v[f"dW{li}"]  # type: ignore[operator]
        if family == "b_new":
            return v[f"b{li}"] - setup.lr * v[f"db{li}"]  # type: ignore[operator]
    return None


def _within(claimed: np.ndarray, decimals: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Whether each claimed number is `value` at the precision it was written."""
    half = 0.5 * 10.0 ** (-decimals.astype(float))
    with np.errstate(invalid="ignore"):
        return np.abs(claimed - value) <= half * (1 + _SLACK) + _SLACK * np.abs(value)


# ---- the document ----


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
            first = new[0]
            lines += [
                "",
                f"The first new slip is {first.name}: written {first.claimed}, "
                f"right {_right(first)}.",
            ]
            if first.rule:
                lines.append(f"  {first.rule}")
                if first.recomputed is not None:
                    lines.append(
                        f"  = {_right_digits(first.recomputed, first.claimed)} from your own "
                        f"numbers, so the slip is made here."
                    )
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


def _right(slip: Slip) -> str:
    return _right_digits(slip.right, slip.claimed)


def _right_digits(x: float, claimed: str) -> str:
    """`x` at the claimed precision, with more digits after it when those are needed."""
    d = max(_written_decimals(claimed), 0)
    shown = _fixed(x, d)
    return shown if abs(float(shown) - x) < 1e-12 else f"{shown} ({_fixed(x, d + 2)}...)"


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
        if not isinstance(claims, Mapping):
            raise TypeError(
                f"check: claims must be a mapping of keys to numbers (got {type(claims).__name__})"
            )
        unknown = [k for k in claims if k not in self.numbers]
        if unknown:
            raise ValueError(
                f"check: claims keys must be among {', '.join(self.order)} (got {unknown[0]!r})"
            )
        setup, right = self._setup, self._graph.numbers
        parsed = {k: _parse_claim(k, claims[k], right[k], setup) for k in self.order if k in claims}
        # the learner's numbers: claimed where written, right elsewhere; given ones as they are
        own = {**setup.given, **right}
        claimed_texts = {k: texts for k, (texts, _, _) in parsed.items()}
        for k, (texts, values, _) in parsed.items():
            own[k] = np.where(texts != "", values, right[k])
        slips: list[Slip] = []
        checked = 0
        for key in self.order:
            if key not in parsed:
                continue
            texts, values, decimals = parsed[key]
            written = texts != ""
            checked += int(written.sum())
            wrong = written & ~_within(values, decimals, right[key])
            if not wrong.any():
                continue
            recomputed = _rule(key, own, setup)
            for index in (tuple(int(i) for i in ix) for ix in np.argwhere(wrong)):
                again = None if recomputed is None else float(np.asarray(recomputed)[index])
                carried = again is not None and bool(
                    _within(values[index], decimals[index], np.array(again))
                )
                slips.append(
                    Slip(
                        key,
                        _public_index(key, index, setup),
                        str(texts[index]),
                        float(right[key][index]),
                        carried,
                        again,
                        _entry_rule(key, index, own, claimed_texts, setup),
                    )
                )
        return CheckReport(slips, checked)


def _public(key: str, arr: np.ndarray, setup: _Setup) -> np.ndarray:
    return arr[:, 0].copy() if setup.single and key in _column_keys(setup) else arr.copy()


def _public_index(key: str, index: tuple[int, ...], setup: _Setup) -> tuple[int, ...]:
    return index[:1] if setup.single and key in _column_keys(setup) else index


def _parse_claim(
    key: str, claim: Any, right: np.ndarray, setup: _Setup
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(texts, values, decimals) in the internal layout; "" where nothing was written."""
    where = f"check: claims[{key!r}]"
    public = _public(key, right, setup)
    if isinstance(claim, np.ndarray):
        claim = claim.tolist()
    shape: tuple[int, ...] = ()
    flat: list[Any] = []
    stack: list[tuple[Any, int]] = [(claim, 0)]
    depth_sizes: dict[int, int] = {}
    while stack:  # flatten without recursion, recording each level's length
        item, depth = stack.pop()
        if isinstance(item, list | tuple):
            if depth_sizes.setdefault(depth, len(item)) != len(item):
                raise ValueError(f"{where} must be a rectangular nested list (got ragged rows)")
            stack.extend((x, depth + 1) for x in reversed(item))
        else:
            flat.append(item)
    shape = tuple(depth_sizes[d] for d in sorted(depth_sizes))
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
        if isinstance(x, str):
            text = x.strip().replace("−", "-")
        elif isinstance(x, bool) or not isinstance(x, int | float | np.number):
            raise ValueError(
                f"{where} entries must be numbers or strings (got {checks.shown(x)} at {i})"
            )
        else:
            text = repr(float(x)) if isinstance(x, float | np.floating) else str(int(x))
        d = _written_decimals(text)
        texts.append(text)
        values.append(float(text))
        decimals.append(d)
    shaped = [
        np.array(a).reshape(public.shape).reshape(right.shape) for a in (texts, values, decimals)
    ]
    return shaped[0], shaped[1].astype(float), shaped[2].astype(int)


# ---- digits: as few as the notes use, more where a step would not follow from the printed ----


def _printed(arr: np.ndarray, precision: int) -> np.ndarray:
    flat = [_fixed(x, _decimals(x, precision)) for x in np.asarray(arr, dtype=float).ravel()]
    return np.array(flat, dtype=object).reshape(np.shape(arr))


def _as_numbers(texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
    given = {
        k: np.array([float(t) for t in v.ravel()]).reshape(v.shape) for k, v in given_text.items()
    }
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


# ---- one entry's rule, written with the learner's numbers (for the first new slip) ----


def _entry_rule(
    key: str,
    index: tuple[int, ...],
    own: Mapping[str, np.ndarray],
    written: Mapping[str, np.ndarray],
    setup: _Setup,
) -> str:
    """`key[index]`'s local rule written out with the numbers in `own`, e.g. δ2[0] = ... × ..."""
    n = len(setup.activations)
    col = 0 if len(index) < 2 else index[1]
    j = index[0] if index else 0

    def num(k: str, *at: int) -> str:
        text = str(written[k][at]) if k in written and written[k][at] != "" else ""
        if not text:
            x = float(np.asarray(own[k])[at])
            text = _given(x) if k[0] in "Wbt" or k == "a0" else f"{x:.6g}"
        return f"({text})" if text.startswith("-") else text

    def name(k: str, *at: int) -> str:
        shown = _public_index(k, at, setup) if k in _column_keys(setup) | set(_order(setup)) else at
        return f"{k}[{','.join(map(str, shown))}]"

    me = name(key, *index) if index else key
    family, li = _split(key)
    m = setup.m
    per = "" if m == 1 else f" / {m}"
    if key == "E" and m == 1:
        pairs = [(num(f"a{n}", k, 0), num("t", k, 0)) for k in range(setup.sizes[-1])]
        return "E = " + _LOSS_TEXT[setup.loss] + " = " + _loss_numbers(setup, pairs)
    if key == "E":
        return f"E = {_LOSS_TEXT[setup.loss]}, averaged over the {m} samples, with your a{n}"
    if family == "z":
        width = own[f"W{li}"].shape[1]
        terms = " + ".join(
            f"{num(f'W{li}', j, k)} × {num(f'a{li - 1}', k, col)}" for k in range(width)
        )
        return f"{me} = Σ_k W{li}[{j},k] a{li - 1}[k] + b{li}[{j}] = {terms} + {num(f'b{li}', j)}"
    if family == "a":
        f = setup.activations[li - 1]
        return f"{me} = {f}({name(f'z{li}', j, col)}) = {f}({num(f'z{li}', j, col)})"
    if family == "fprime":
        f = setup.activations[li - 1]
        a, z = num(f"a{li}", j, col), num(f"z{li}", j, col)
        form = {
            "sigmoid": f"a(1 - a) = {a} × (1 - {a})",
            "tanh": f"1 - a² = 1 - {a}²",
            "relu": f"1 if z > 0 else 0, z = {z}",
            "linear": "1",
        }[f]
        return f"{me} = {_F_TEXT[f] or f}'(z{li}[{j}]) = {form}"
    if family == "da" and li == n:
        a, t = num(f"a{li}", j, col), num("t", j, col)
        form = {
            "half_sse": f"(a - t){per} = ({a} - {t}){per}",
            "mse": f"2(a - t) / {setup.sizes[-1] * m} = 2({a} - {t}) / {setup.sizes[-1] * m}",
            "bce": f"(a - t) / (a(1 - a)) / {setup.sizes[-1] * m}, a = {a}, t = {t}",
            "softmax_ce": f"(softmax(a{li})[{j}] - t){per}, t = {t}",
        }[setup.loss]
        return f"{me} = ∂E/∂{name(f'a{li}', j, col)} = {form}"
    if family == "da":
        width = own[f"W{li + 1}"].shape[0]
        terms = " + ".join(
            f"{num(f'W{li + 1}', k, j)} × {num(f'delta{li + 1}', k, col)}" for k in range(width)
        )
        return f"{me} = Σ_k W{li + 1}[k,{j}] delta{li + 1}[k] = {terms}"
    if family == "delta":
        return (
            f"{me} = da{li} × fprime{li} = {num(f'da{li}', j, col)} × {num(f'fprime{li}', j, col)}"
        )
    if family == "dW":
        k = index[1]
        terms = " + ".join(
            f"{num(f'delta{li}', j, i)} × {num(f'a{li - 1}', k, i)}" for i in range(m)
        )
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
            f"{me} = {p}{li} - η d{p}{li} = {num(f'{p}{li}', *index)} - {_given(setup.lr or 0.0)}"
            f" × {num(f'd{p}{li}', *index)}"
        )
    return ""


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


# ---- rendering: one list of equations, written as text or as Markdown with LaTeX ----


@dataclass(frozen=True)
class _Sym:
    text: str
    latex: str


_Part = _Sym | np.ndarray  # a symbol, or a matrix of printed numbers


def _sym(text: str, latex: str | None = None) -> _Sym:
    return _Sym(text, text if latex is None else latex)


def _matrix_lines(grid: np.ndarray) -> list[str]:
    rows = [[str(x) for x in row] for row in grid]
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    body = ["  ".join(x.rjust(w) for x, w in zip(r, widths, strict=True)) for r in rows]
    if len(body) == 1:
        return [f"[{body[0]}]"]
    ends = [("⎡", "⎤"), *[("⎢", "⎥")] * (len(body) - 2), ("⎣", "⎦")]
    return [f"{left} {line} {right}" for (left, right), line in zip(ends, body, strict=True)]


def _hjoin(parts: list[_Part]) -> list[str]:
    """Parts side by side, their middle rows on one line (how matrices are written on paper)."""
    blocks = [[p.text] if isinstance(p, _Sym) else _matrix_lines(p) for p in parts]
    middle = max((len(b) - 1) // 2 for b in blocks)
    height = max(middle + len(b) - (len(b) - 1) // 2 for b in blocks)
    lines = [""] * height
    for block in blocks:
        top = middle - (len(block) - 1) // 2
        width = max(_width(x) for x in block)
        for r in range(height):
            text = block[r - top] if 0 <= r - top < len(block) else ""
            lines[r] += text + " " * (width - _width(text))
    return [line.rstrip() for line in lines]


def _latex_matrix(grid: np.ndarray) -> str:
    rows = r" \\ ".join(" & ".join(str(x) for x in row) for row in grid)
    return r"\begin{bmatrix} " + rows + r" \end{bmatrix}"


class _Doc:
    """The document as headings, sentences and equations; `render` writes it either way."""

    def __init__(self) -> None:
        self.items: list[tuple[str, Any, Any]] = []

    def heading(self, level: int, text: str) -> None:
        self.items.append(("heading", level, text))

    def say(self, text: str) -> None:
        self.items.append(("say", text, None))

    def eq(self, label: str, parts: list[_Part]) -> None:
        self.items.append(("eq", label, parts))

    def render(self, latex: bool) -> str:
        out: list[str] = []
        for kind, a, b in self.items:
            if kind == "heading":
                if latex:
                    out += ["#" * a + " " + b, ""]
                else:
                    out += [b, ("=" if a <= 2 else "-") * _width(b), ""]
            elif kind == "say":
                out += [a, ""]
            elif latex:
                tex = " ".join(p.latex if isinstance(p, _Sym) else _latex_matrix(p) for p in b)
                out += [f"{a}:", "", "$$", tex, "$$", ""]
            else:
                colon = "：" if _width(a) > len(a) else ": "  # the notes' full-width colon
                lines = _hjoin([_sym(a + colon), *b])
                out += [*lines, ""]
        return "\n".join(out).rstrip() + "\n"


def _width(text: str) -> int:
    """Columns a heading takes: CJK characters are two wide."""
    return sum(2 if "\u3000" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef" else 1 for c in text)


def _render(ex: WorkedExample, latex: bool) -> str:
    setup, lang = ex._setup, ex.lang
    n, m = len(setup.activations), setup.m
    batch = not setup.single
    g = ex._given_text
    W = lambda li: g[f"W{li}"]  # noqa: E731
    B = lambda li: g[f"b{li}"][:, None]  # noqa: E731

    def sym(base: str, li: int | None = None) -> _Sym:
        letter = base.upper() if batch and base in ("a", "z", "x", "t") else base
        if li is None:
            return _sym(letter)
        tex = r"\delta" if letter == "δ" else letter
        return _sym(f"{letter}^[{li}]", f"{tex}^{{[{li}]}}")

    def d(what: _Sym) -> _Sym:
        return _sym(f"∂E/∂{what.text}", rf"\frac{{\partial E}}{{\partial {what.latex}}}")

    def join(*parts: _Part | str) -> list[_Part]:
        return [_sym(p) if isinstance(p, str) else p for p in parts]

    eq_ = _sym(" = ")
    doc = _Doc()
    sizes = "-".join(map(str, setup.sizes))
    acts = ", ".join(setup.activations)
    if lang == "zh":
        head = f"{_word('title', lang)}：{sizes} 网络（{acts}），损失 {setup.loss}"
        intro = (
            "一个输入。"
            if not batch
            else f"m = {m} 个样本，每列一个样本（笔记 004 的矩阵形式）；"
            "损失和梯度都对 m 求平均，δ = ∂E/∂Z 已含 1/m。"
        )
    else:
        head = f"{_word('title', lang)}: a {sizes} network ({acts}), loss {setup.loss}"
        intro = (
            "One input."
            if not batch
            else f"A batch of m = {m} samples as columns (the matrix form of note 004); the loss "
            "and the gradients are means over m, so δ = ∂E/∂Z includes the 1/m."
        )
    doc.heading(1, head)
    doc.say(intro)
    doc.heading(2, _word("forward", lang))
    for li in range(1, n + 1):
        doc.heading(3, _layer_heading(li, n, lang, backward=False))
        if li == 1:
            doc.eq(_word("input", lang), join(sym("a", 0), " = ", sym("x"), " = ", g["a0"]))
        doc.eq(
            _word("params", lang),
            join(sym("W", li), " = ", W(li), _sym(", ", r", \quad "), sym("b", li), " = ", B(li)),
        )
        doc.eq(
            _word("linear", lang),
            join(
                sym("z", li),
                eq_,
                sym("W", li),
                _sym(" ", r"\,"),
                sym("a", li - 1),
                " + ",
                sym("b", li),
                eq_,
                W(li),
                _sym(" ", r"\,"),
                _prev(ex, li),
                " + ",
                B(li),
                eq_,
                ex.printed(f"z{li}"),
            ),
        )
        f = setup.activations[li - 1]
        if f == "linear":
            doc.eq(
                _word("activation", lang),
                join(sym("a", li), eq_, sym("z", li), eq_, ex.printed(f"a{li}")),
            )
        else:
            fz = _sym(f"{_F_TEXT[f]}({sym('z', li).text})", rf"{_F_LATEX[f]}({sym('z', li).latex})")
            doc.eq(
                _word("activation", lang), join(sym("a", li), eq_, fz, eq_, ex.printed(f"a{li}"))
            )
    doc.heading(3, _word("loss", lang))
    doc.eq(_word("target", lang), join(sym("t"), " = ", g["t"]))
    _loss_lines(ex, doc, sym, join)
    doc.heading(2, _word("backward", lang))
    for li in range(n, 0, -1):
        doc.heading(3, _layer_heading(li, n, lang, backward=True))
        a_l = sym("a", li)
        if li == n:
            form = _output_slope(setup, sym)
            parts = join(d(a_l), eq_, form)
            if setup.loss == "half_sse" and not batch:
                parts += join(eq_, ex.printed(f"a{li}"), " - ", g["t"])
            doc.eq(_word("output_grad", lang), [*parts, eq_, ex.printed(f"da{li}")])
        else:
            wt = _sym(f"(W^[{li + 1}])ᵀ", rf"(W^{{[{li + 1}]}})^T")
            doc.eq(
                _word("back", lang),
                join(
                    d(a_l),
                    eq_,
                    wt,
                    _sym(" ", r"\,"),
                    sym("δ", li + 1),
                    eq_,
                    W(li + 1).T,
                    _sym(" ", r"\,"),
                    ex.printed(f"delta{li + 1}"),
                    eq_,
                    ex.printed(f"da{li}"),
                ),
            )
        f = setup.activations[li - 1]
        delta = sym("δ", li)
        if f == "linear":
            doc.eq(
                "δ", join(delta, eq_, d(sym("z", li)), eq_, d(a_l), eq_, ex.printed(f"delta{li}"))
            )
        else:
            op = ex._graph.slope_ops[li]
            text, tex = op.describe(0, [sym("z", li).text], a_l.text)
            _, tex = op.describe(0, [sym("z", li).latex], a_l.latex)
            fp = _sym(
                f"{_F_TEXT[f]}'({sym('z', li).text})", rf"{_F_LATEX[f]}'({sym('z', li).latex})"
            )
            doc.eq(
                _word("slope", lang), join(fp, eq_, _sym(text, tex), eq_, ex.printed(f"fprime{li}"))
            )
            doc.eq(
                _word("delta", lang),
                join(
                    delta,
                    eq_,
                    d(a_l),
                    _sym(" ⊙ ", r" \odot "),
                    fp,
                    eq_,
                    ex.printed(f"da{li}"),
                    _sym(" ⊙ ", r" \odot "),
                    ex.printed(f"fprime{li}"),
                    eq_,
                    ex.printed(f"delta{li}"),
                ),
            )
        prev_t = _sym(f"({sym('a', li - 1).text})ᵀ", rf"({sym('a', li - 1).latex})^T")
        doc.eq(
            _word("grads", lang),
            join(
                d(sym("W", li)),
                eq_,
                delta,
                _sym(" ", r"\,"),
                prev_t,
                eq_,
                ex.printed(f"delta{li}"),
                _sym(" ", r"\,"),
                _prev(ex, li).T,
                eq_,
                ex.printed(f"dW{li}"),
            ),
        )
        if batch:
            db_form = _sym(f"Σ_i {delta.text}[:, i]", rf"\sum_i {delta.latex}_{{:,i}}")
        else:
            db_form = delta
        doc.eq(
            _word("grads", lang),
            join(d(sym("b", li)), eq_, db_form, eq_, ex.printed(f"db{li}")[:, None]),
        )
    if setup.lr is not None:
        rate = _given(setup.lr)
        doc.heading(2, f"{_word('update', lang)} ({_word('rate', lang)} η = {rate})")
        for li in range(1, n + 1):
            for p, new, given in (("W", f"W{li}_new", W(li)), ("b", f"b{li}_new", B(li))):
                printed = ex.printed(new)
                printed = printed if p == "W" else printed[:, None]
                grad = ex.printed(f"d{p}{li}")
                grad = grad if p == "W" else grad[:, None]
                doc.eq(
                    _layer_heading(li, n, lang, backward=False),
                    join(
                        sym(p, li),
                        _sym(" ← ", r" \leftarrow "),
                        sym(p, li),
                        " - η ",
                        d(sym(p, li)),
                        eq_,
                        given,
                        f" - {rate} ",
                        grad,
                        eq_,
                        printed,
                    ),
                )
    return doc.render(latex)


def _prev(ex: WorkedExample, li: int) -> np.ndarray:
    """a^[li-1] as printed: the given input for li = 1."""
    return ex._given_text["a0"] if li == 1 else ex.printed(f"a{li - 1}")


def _output_slope(setup: _Setup, sym: Callable[..., _Sym]) -> _Sym:
    """∂E/∂a^[L] as the loss gives it, written symbolically."""
    a, t = sym("a", len(setup.activations)), sym("t")
    n_out = setup.sizes[-1]
    m = setup.m
    scale_text = "" if m == 1 else f"1/{m} "
    scale_tex = "" if m == 1 else rf"\tfrac{{1}}{{{m}}}"
    if setup.loss == "half_sse":
        return _sym(f"{scale_text}({a.text} - {t.text})", rf"{scale_tex}({a.latex} - {t.latex})")
    if setup.loss == "mse":
        k = n_out * m
        return _sym(f"2/{k} ({a.text} - {t.text})", rf"\tfrac{{2}}{{{k}}}({a.latex} - {t.latex})")
    if setup.loss == "bce":
        k = n_out * m
        return _sym(
            f"1/{k} ({a.text} - {t.text}) ⊘ ({a.text} ⊙ (1 - {a.text}))",
            rf"\tfrac{{1}}{{{k}}}\,\frac{{{a.latex} - {t.latex}}}"
            rf"{{{a.latex} \odot (1 - {a.latex})}}",
        )
    return _sym(
        f"{scale_text}(softmax({a.text}) - {t.text})",
        rf"{scale_tex}(\operatorname{{softmax}}({a.latex}) - {t.latex})",
    )


def _loss_lines(ex: WorkedExample, doc: _Doc, sym: Callable[..., _Sym], join: Callable) -> None:
    setup, lang = ex._setup, ex.lang
    n, m = len(setup.activations), setup.m
    digits = ex.digits["E"]
    a_text = ex.printed(f"a{n}")
    t_text = ex._given_text["t"]
    terms = ex._graph.loss_parts["terms"]
    E = _printed(ex._graph.numbers["E"], digits).item()
    k = setup.sizes[-1]
    a, t = sym("a", n), sym("t")
    forms = {
        "half_sse": (
            f"½ Σ_k ({a.text}_k - {t.text}_k)²",
            rf"\tfrac{{1}}{{2}} \sum_k ({a.latex}_k - {t.latex}_k)^2",
        ),
        "mse": (
            f"1/{k} Σ_k ({a.text}_k - {t.text}_k)²",
            rf"\tfrac{{1}}{{{k}}} \sum_k ({a.latex}_k - {t.latex}_k)^2",
        ),
        "bce": (
            f"-1/{k} Σ_k [{t.text}_k log {a.text}_k + (1 - {t.text}_k) log(1 - {a.text}_k)]",
            rf"-\tfrac{{1}}{{{k}}} \sum_k [{t.latex}_k \log {a.latex}_k"
            rf" + (1 - {t.latex}_k) \log(1 - {a.latex}_k)]",
        ),
        "softmax_ce": (
            f"log Σ_k exp({a.text}_k) - Σ_k {t.text}_k {a.text}_k",
            rf"\log \sum_k e^{{{a.latex}_k}} - \sum_k {t.latex}_k {a.latex}_k",
        ),
    }
    text, tex = forms[setup.loss]
    if m > 1:
        per = _printed(ex._graph.loss_parts["per_sample"], digits)[None, :]
        ell = _sym("ℓ_i", r"\ell_i")
        doc.eq(_word("per_sample", lang), join(ell, " = ", _sym(text, tex), eq := _sym(" = "), per))
        doc.eq(
            _word("mean", lang),
            join("E", eq, _sym(f"1/{m} Σ_i ℓ_i", rf"\tfrac{{1}}{{{m}}} \sum_i \ell_i"), eq, E),
        )
        return
    shown = _printed(terms[0], digits)
    col_a, col_t = a_text[:, 0], t_text[:, 0]
    if setup.loss in ("half_sse", "mse"):
        scale = (
            ("½", r"\tfrac{1}{2}")
            if setup.loss == "half_sse"
            else (f"1/{k}", rf"\tfrac{{1}}{{{k}}}")
        )
        inner = " + ".join(f"({x} - {y})²" for x, y in zip(col_a, col_t, strict=True))
        inner_tex = " + ".join(f"({x} - {y})^2" for x, y in zip(col_a, col_t, strict=True))
        middle = _sym(f"{scale[0]} [{inner}]", rf"{scale[1]} \left[{inner_tex}\right]")
        summed = _sym(f"{scale[0]} ({' + '.join(shown)})", rf"{scale[1]} ({' + '.join(shown)})")
    elif setup.loss == "bce":
        pieces = []
        for x, y in zip(col_a, col_t, strict=True):
            if float(y) == 1.0:
                pieces.append((f"log {x}", rf"\log {x}"))
            elif float(y) == 0.0:
                pieces.append((f"log(1 - {x})", rf"\log(1 - {x})"))
            else:
                pieces.append(
                    (
                        f"{y} log {x} + {_one_minus(y)} log(1 - {x})",
                        rf"{y} \log {x} + {_one_minus(y)} \log(1 - {x})",
                    )
                )
        middle = _sym(
            f"-1/{k} [{' + '.join(p for p, _ in pieces)}]",
            rf"-\tfrac{{1}}{{{k}}} \left[{' + '.join(q for _, q in pieces)}\right]",
        )
        summed = _sym(
            f"-1/{k} ({' + '.join(_bracket(s) for s in shown)})",
            rf"-\tfrac{{1}}{{{k}}} ({' + '.join(_bracket(s) for s in shown)})",
        )
    else:
        exps = " + ".join(f"exp({x})" for x in col_a)
        exps_tex = " + ".join(f"e^{{{x}}}" for x in col_a)
        dots = " + ".join(
            f"{y} × {_bracket(x)}" for x, y in zip(col_a, col_t, strict=True) if float(y)
        )
        dots_tex = " + ".join(
            rf"{y} \cdot {_bracket(x)}" for x, y in zip(col_a, col_t, strict=True) if float(y)
        )
        middle = _sym(f"log({exps}) - ({dots})", rf"\log({exps_tex}) - ({dots_tex})")
        summed = _sym(f"{shown[0]} - {_bracket(shown[1])}")
    eq = _sym(" = ")
    doc.eq(_word("loss", lang), join("E", eq, _sym(text, tex), eq, middle, eq, summed, eq, E))


def _bracket(text: str) -> str:
    return f"({text})" if text.startswith("-") else text


def _one_minus(text: str) -> str:
    return _given(1.0 - float(text))


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


def _given_grid(arr: np.ndarray) -> np.ndarray:
    return np.array([_given(float(x)) for x in arr.ravel()], dtype=object).reshape(arr.shape)


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
        wanted[nodes[0]] = {
            k: _claim_text(v, f"{where}: claims[{label!r}][{k!r}]") for k, v in fields.items()
        }
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
            d = np.array(_written_decimals(text))
            if _within(np.array(float(text)), d, np.array(right)):
                continue
            again, rule = None, ""
            if field == "grad" and node is not root:
                parts = users.get(id(node), [])
                again = math.fsum(local * own_grad(user) for user, local in parts)
                rule = f"{node.label}.grad = Σ over its users of local derivative × grad = " + (
                    " + ".join(f"{local:.6g} × {own_grad(user):.6g}" for user, local in parts)
                    or "0"
                )
            carried = again is not None and bool(_within(np.array(float(text)), d, np.array(again)))
            slips.append(Slip(f"{node.label}.{field}", (), text, right, carried, again, rule))
    return CheckReport(slips, checked)


def _claim_text(x: Any, where: str) -> str:
    if isinstance(x, str):
        text = x.strip().replace("−", "-")
    elif isinstance(x, bool) or not isinstance(x, int | float | np.number):
        raise ValueError(f"{where} must be a number or a string of one (got {checks.shown(x)})")
    else:
        text = repr(float(x)) if isinstance(x, float | np.floating) else str(int(x))
    _written_decimals(text)
    return text
