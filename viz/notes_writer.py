"""Write a worked example as the notes do: plain text (`str`) or Markdown with LaTeX, in English
or in the notes' Chinese.

The document is a list of headings and equations, each equation a row of symbols and matrices of
printed numbers (`_Doc`). In text, matrices stand side by side with their middle rows on one line,
as on paper; in Markdown each equation is a display of `bmatrix`es. One function writes each part
of the document: the forward pass layer by layer, the loss, then per layer from the last one
down the error reaching it, its δ, and its gradients, and the update when there is a learning
rate. Every number comes from the `WorkedExample` as it prints it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from viz.explain import Maths
from viz.worked_rules import _F_LATEX, _F_TEXT, _bracket, _given, _printed

if TYPE_CHECKING:
    from viz.worked import WorkedExample

LANGS = ("en", "zh")

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
    "delta_linear": ("δ", "δ"),  # a linear layer's δ is ∂E/∂a itself, no slope to name
    "grads": ("gradients", "梯度"),
    "rate": ("learning rate", "学习率"),
    "per_sample": ("loss per sample", "每个样本的损失"),
    "mean": ("mean over the samples", "对样本求平均"),
}

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


# ---- the document: headings and equations, written as text or as Markdown with LaTeX ----

_Part = Maths | np.ndarray  # a symbol, or a matrix of printed numbers


def _maths(text: str, latex: str | None = None) -> Maths:
    """A symbol written `text` in plain text and `latex` (the same when not given) in LaTeX."""
    return Maths(text, text if latex is None else latex)


_EQ = _maths(" = ")
_AND = _maths(", ", r", \quad ")  # two equations on one line: W = ..., b = ...
_TIMES = _maths(" ", r"\,")  # a product written by juxtaposition: W a
_ODOT = _maths(" ⊙ ", r" \odot ")


def _width(text: str) -> int:
    """Columns a heading takes: CJK characters are two wide."""
    return sum(2 if "\u3000" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef" else 1 for c in text)


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
    blocks = [[p.text] if isinstance(p, Maths) else _matrix_lines(p) for p in parts]
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


_Side = _Part | str | tuple[_Part | str, ...]


class _Doc:
    """The document as headings, sentences and equations; `render` writes it either way."""

    def __init__(self) -> None:
        self.items: list[tuple[str, Any, Any]] = []

    def heading(self, level: int, text: str) -> None:
        self.items.append(("heading", level, text))

    def say(self, text: str) -> None:
        self.items.append(("say", text, None))

    def eq(self, label: str, *sides: _Side) -> None:
        """An equation under `label`, its sides joined by " = ".

        A side is a symbol, a matrix or a tuple of them written side by side; a str is a symbol,
        the same in both forms.
        """
        parts: list[_Part] = []
        for i, side in enumerate(sides):
            if i:
                parts.append(_EQ)
            for part in side if isinstance(side, tuple) else (side,):
                parts.append(_maths(part) if isinstance(part, str) else part)
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
                tex = " ".join(p.latex if isinstance(p, Maths) else _latex_matrix(p) for p in b)
                out += [f"{a}:", "", "$$", tex, "$$", ""]
            else:
                colon = "：" if _width(a) > len(a) else ": "  # the notes' full-width colon
                lines = _hjoin([_maths(a + colon), *b])
                out += [*lines, ""]
        return "\n".join(out).rstrip() + "\n"


# ---- the notation: what the document calls each quantity ----


class _Notes:
    """A worked example being written: its document so far, and the symbols it writes in."""

    def __init__(self, ex: WorkedExample) -> None:
        self.ex = ex
        self.setup = ex._setup
        self.n = len(ex._setup.activations)
        self.batch = not ex._setup.single
        self.doc = _Doc()

    def word(self, key: str) -> str:
        return _WORDS[key][LANGS.index(self.ex.lang)]

    def sym(self, base: str, li: int | None = None) -> Maths:
        """`base`, of layer `li` when given: a^[1]; a batch's matrices are capitals, A^[1]."""
        letter = base.upper() if self.batch and base in ("a", "z", "x", "t") else base
        if li is None:
            return _maths(letter)
        tex = r"\delta" if letter == "δ" else letter
        return _maths(f"{letter}^[{li}]", f"{tex}^{{[{li}]}}")

    def given(self, key: str) -> np.ndarray:
        """A given matrix as printed (W1, t, a0); a bias as a column."""
        grid = self.ex._given_text[key]
        return grid[:, None] if key[0] == "b" else grid

    def layer_input(self, li: int) -> np.ndarray:
        """a^[li-1] as printed: the given input for li = 1."""
        return self.given("a0") if li == 1 else self.ex.printed(f"a{li - 1}")


def _d(what: Maths) -> Maths:
    """∂E/∂`what`."""
    return _maths(f"∂E/∂{what.text}", rf"\frac{{\partial E}}{{\partial {what.latex}}}")


def _transposed(what: Maths) -> Maths:
    return "(" + what + _maths(")ᵀ", ")^T")


def _applied(activation: str, z: Maths, prime: str = "") -> Maths:
    """f(z), or with `prime` "'" f'(z), with f the activation's name in the notes."""
    f = _maths(_F_TEXT[activation], _F_LATEX[activation])
    return f + prime + "(" + z + ")"


def _slope_rule(op: Any, z: Maths, a: Maths) -> Maths:
    """f'(z) as the op table writes it in terms of z and a = f(z) (σ: a(1 - a))."""
    text, _ = op.describe(0, [z.text], a.text)
    _, tex = op.describe(0, [z.latex], a.latex)
    return _maths(text, tex)


# ---- the parts of the document ----


def _render(ex: WorkedExample, latex: bool) -> str:
    """The whole document, as text or as Markdown with LaTeX."""
    notes = _Notes(ex)
    _title(notes)
    notes.doc.heading(2, notes.word("forward"))
    for li in range(1, notes.n + 1):
        _forward_layer(notes, li)
    _loss(notes)
    notes.doc.heading(2, notes.word("backward"))
    for li in range(notes.n, 0, -1):
        notes.doc.heading(3, _layer_heading(li, notes.n, ex.lang, backward=True))
        _error_reaching(notes, li)
        _delta(notes, li)
        _gradients(notes, li)
    if notes.setup.lr is not None:
        _update(notes, notes.setup.lr)
    return notes.doc.render(latex)


def _title(notes: _Notes) -> None:
    """What network, what loss, one input or a batch."""
    setup, m = notes.setup, notes.setup.m
    sizes = "-".join(map(str, setup.sizes))
    acts = ", ".join(setup.activations)
    if notes.ex.lang == "zh":
        head = f"{notes.word('title')}：{sizes} 网络（{acts}），损失 {setup.loss}"
        intro = (
            "一个输入。"
            if not notes.batch
            else f"m = {m} 个样本，每列一个样本（笔记 004 的矩阵形式）；"
            "损失和梯度都对 m 求平均，δ = ∂E/∂Z 已含 1/m。"
        )
    else:
        head = f"{notes.word('title')}: a {sizes} network ({acts}), loss {setup.loss}"
        intro = (
            "One input."
            if not notes.batch
            else f"A batch of m = {m} samples as columns (the matrix form of note 004); the loss "
            "and the gradients are means over m, so δ = ∂E/∂Z includes the 1/m."
        )
    notes.doc.heading(1, head)
    notes.doc.say(intro)


def _forward_layer(notes: _Notes, li: int) -> None:
    """z = W a + b with the numbers, then the activation."""
    doc, sym, ex = notes.doc, notes.sym, notes.ex
    W, b = notes.given(f"W{li}"), notes.given(f"b{li}")
    doc.heading(3, _layer_heading(li, notes.n, ex.lang, backward=False))
    if li == 1:
        doc.eq(notes.word("input"), sym("a", 0), sym("x"), notes.given("a0"))
    doc.eq(notes.word("params"), (sym("W", li), _EQ, W, _AND, sym("b", li), _EQ, b))
    doc.eq(
        notes.word("linear"),
        sym("z", li),
        (sym("W", li), _TIMES, sym("a", li - 1), " + ", sym("b", li)),
        (W, _TIMES, notes.layer_input(li), " + ", b),
        ex.printed(f"z{li}"),
    )
    f = notes.setup.activations[li - 1]
    fz = sym("z", li) if f == "linear" else _applied(f, sym("z", li))
    doc.eq(notes.word("activation"), sym("a", li), fz, ex.printed(f"a{li}"))


def _error_reaching(notes: _Notes, li: int) -> None:
    """∂E/∂a of layer `li`: from the loss at the output, else sent back through W^[li+1]."""
    doc, sym, ex = notes.doc, notes.sym, notes.ex
    a = sym("a", li)
    if li == notes.n:
        sides: list[_Side] = [_d(a), _output_slope(notes)]
        if notes.setup.loss == "half_sse" and not notes.batch:
            sides.append((ex.printed(f"a{li}"), " - ", notes.given("t")))
        doc.eq(notes.word("output_grad"), *sides, ex.printed(f"da{li}"))
        return
    doc.eq(
        notes.word("back"),
        _d(a),
        (_transposed(sym("W", li + 1)), _TIMES, sym("δ", li + 1)),
        (notes.given(f"W{li + 1}").T, _TIMES, ex.printed(f"delta{li + 1}")),
        ex.printed(f"da{li}"),
    )


def _delta(notes: _Notes, li: int) -> None:
    """δ = ∂E/∂a ⊙ f'(z), with f'(z) written as the op table writes it."""
    doc, sym, ex = notes.doc, notes.sym, notes.ex
    a, z, delta = sym("a", li), sym("z", li), sym("δ", li)
    f = notes.setup.activations[li - 1]
    if f == "linear":
        doc.eq(notes.word("delta_linear"), delta, _d(z), _d(a), ex.printed(f"delta{li}"))
        return
    fp = _applied(f, z, prime="'")
    slope = _slope_rule(ex._graph.slope_ops[li], z, a)
    doc.eq(notes.word("slope"), fp, slope, ex.printed(f"fprime{li}"))
    doc.eq(
        notes.word("delta"),
        delta,
        (_d(a), _ODOT, fp),
        (ex.printed(f"da{li}"), _ODOT, ex.printed(f"fprime{li}")),
        ex.printed(f"delta{li}"),
    )


def _gradients(notes: _Notes, li: int) -> None:
    """∂E/∂W = δ aᵀ and ∂E/∂b = δ (summed over the samples of a batch)."""
    doc, sym, ex = notes.doc, notes.sym, notes.ex
    delta = sym("δ", li)
    doc.eq(
        notes.word("grads"),
        _d(sym("W", li)),
        (delta, _TIMES, _transposed(sym("a", li - 1))),
        (ex.printed(f"delta{li}"), _TIMES, notes.layer_input(li).T),
        ex.printed(f"dW{li}"),
    )
    if notes.batch:
        db_form = _maths(f"Σ_i {delta.text}[:, i]", rf"\sum_i {delta.latex}_{{:,i}}")
    else:
        db_form = delta
    doc.eq(notes.word("grads"), _d(sym("b", li)), db_form, ex.printed(f"db{li}")[:, None])


def _update(notes: _Notes, lr: float) -> None:
    """W ← W - η ∂E/∂W and b ← b - η ∂E/∂b, layer by layer."""
    doc, sym, ex = notes.doc, notes.sym, notes.ex
    rate = _given(lr)
    doc.heading(2, f"{notes.word('update')} ({notes.word('rate')} η = {rate})")
    for li in range(1, notes.n + 1):
        label = _layer_heading(li, notes.n, ex.lang, backward=False)
        for p in ("W", "b"):
            grad, new = ex.printed(f"d{p}{li}"), ex.printed(f"{p}{li}_new")
            if p == "b":
                grad, new = grad[:, None], new[:, None]
            doc.eq(
                label,
                (sym(p, li), _maths(" ← ", r" \leftarrow "), sym(p, li), " - η ", _d(sym(p, li))),
                (notes.given(f"{p}{li}"), f" - {rate} ", grad),
                new,
            )


# ---- the loss ----


def _output_slope(notes: _Notes) -> Maths:
    """∂E/∂a^[L] as the loss gives it, written symbolically."""
    setup, m = notes.setup, notes.setup.m
    a, t = notes.sym("a", notes.n), notes.sym("t")
    scale_text = "" if m == 1 else f"1/{m} "
    scale_tex = "" if m == 1 else rf"\tfrac{{1}}{{{m}}}"
    k = setup.sizes[-1] * m
    if setup.loss == "half_sse":
        return _maths(f"{scale_text}({a.text} - {t.text})", rf"{scale_tex}({a.latex} - {t.latex})")
    if setup.loss == "mse":
        return _maths(f"2/{k} ({a.text} - {t.text})", rf"\tfrac{{2}}{{{k}}}({a.latex} - {t.latex})")
    if setup.loss == "bce":
        return _maths(
            f"1/{k} ({a.text} - {t.text}) ⊘ ({a.text} ⊙ (1 - {a.text}))",
            rf"\tfrac{{1}}{{{k}}}\,\frac{{{a.latex} - {t.latex}}}"
            rf"{{{a.latex} \odot (1 - {a.latex})}}",
        )
    return _maths(
        f"{scale_text}(softmax({a.text}) - {t.text})",
        rf"{scale_tex}(\operatorname{{softmax}}({a.latex}) - {t.latex})",
    )


def _loss_formula(notes: _Notes) -> Maths:
    """One sample's loss as a sum over the outputs k."""
    a, t = notes.sym("a", notes.n), notes.sym("t")
    k = notes.setup.sizes[-1]
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
    return _maths(*forms[notes.setup.loss])


def _loss(notes: _Notes) -> None:
    """The target, then the loss: its formula, with the numbers, its terms, its value; over a
    batch each sample's loss and their mean."""
    doc, ex, m = notes.doc, notes.ex, notes.setup.m
    doc.heading(3, notes.word("loss"))
    doc.eq(notes.word("target"), notes.sym("t"), notes.given("t"))
    E = ex.printed("E").item()
    formula = _loss_formula(notes)
    if m > 1:
        per = _printed(ex._graph.loss_parts["per_sample"], ex.digits["E"])[None, :]
        doc.eq(notes.word("per_sample"), _maths("ℓ_i", r"\ell_i"), formula, per)
        mean = _maths(f"1/{m} Σ_i ℓ_i", rf"\tfrac{{1}}{{{m}}} \sum_i \ell_i")
        doc.eq(notes.word("mean"), "E", mean, E)
        return
    outputs = ex.printed(f"a{notes.n}")[:, 0]
    targets = notes.given("t")[:, 0]
    terms = _printed(ex._graph.loss_parts["terms"][0], ex.digits["E"])
    loss = notes.setup.loss
    if loss in ("half_sse", "mse"):
        with_numbers, summed = _squares(loss == "half_sse", outputs, targets, terms)
    elif loss == "bce":
        with_numbers, summed = _cross_entropy(outputs, targets, terms)
    else:
        with_numbers, summed = _softmax_cross_entropy(outputs, targets, terms)
    doc.eq(notes.word("loss"), "E", formula, with_numbers, summed, E)


def _squares(
    half: bool, outputs: np.ndarray, targets: np.ndarray, terms: np.ndarray
) -> tuple[Maths, Maths]:
    """½ (or 1/k) times the squared errors: with the numbers, then as the sum of the squares."""
    k = len(outputs)
    scale = _maths("½", r"\tfrac{1}{2}") if half else _maths(f"1/{k}", rf"\tfrac{{1}}{{{k}}}")
    pairs = list(zip(outputs, targets, strict=True))
    inner = " + ".join(f"({x} - {y})²" for x, y in pairs)
    inner_tex = " + ".join(f"({x} - {y})^2" for x, y in pairs)
    with_numbers = scale + _maths(f" [{inner}]", rf" \left[{inner_tex}\right]")
    return with_numbers, scale + f" ({' + '.join(terms)})"


def _cross_entropy(
    outputs: np.ndarray, targets: np.ndarray, terms: np.ndarray
) -> tuple[Maths, Maths]:
    """-1/k times the sum of t log a + (1 - t) log(1 - a), a term dropped where t is 0 or 1."""
    k = len(outputs)
    pieces = []
    for x, y in zip(outputs, targets, strict=True):
        if float(y) == 1.0:
            pieces.append(_maths(f"log {x}", rf"\log {x}"))
        elif float(y) == 0.0:
            pieces.append(_maths(f"log(1 - {x})", rf"\log(1 - {x})"))
        else:
            rest = _given(1.0 - float(y))
            pieces.append(
                _maths(
                    f"{y} log {x} + {rest} log(1 - {x})", rf"{y} \log {x} + {rest} \log(1 - {x})"
                )
            )
    with_numbers = _maths(
        f"-1/{k} [{' + '.join(p.text for p in pieces)}]",
        rf"-\tfrac{{1}}{{{k}}} \left[{' + '.join(p.latex for p in pieces)}\right]",
    )
    summed = " + ".join(_bracket(s) for s in terms)
    return with_numbers, _maths(f"-1/{k} ({summed})", rf"-\tfrac{{1}}{{{k}}} ({summed})")


def _softmax_cross_entropy(
    outputs: np.ndarray, targets: np.ndarray, terms: np.ndarray
) -> tuple[Maths, Maths]:
    """log Σ exp(a) - Σ t a, a term dropped where t is 0; its terms are the two sums."""
    exps = " + ".join(f"exp({x})" for x in outputs)
    exps_tex = " + ".join(f"e^{{{x}}}" for x in outputs)
    pairs = [(x, y) for x, y in zip(outputs, targets, strict=True) if float(y)]
    dots = " + ".join(f"{y} × {_bracket(x)}" for x, y in pairs)
    dots_tex = " + ".join(rf"{y} \cdot {_bracket(x)}" for x, y in pairs)
    with_numbers = _maths(f"log({exps}) - ({dots})", rf"\log({exps_tex}) - ({dots_tex})")
    return with_numbers, _maths(f"{terms[0]} - {_bracket(terms[1])}")
