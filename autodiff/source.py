"""A tape's compiled batch computation written out as plain numpy code (`Tape.to_source()`).

The tape runs a scalar graph as a few array operations: each layer of neurons one matrix
product, each group of like nodes one numpy call. Written out, that is the vectorized form a
course on backpropagation ends with: `Z1 = W1 @ A0 + b1[:, None]` forward, and backward the
delta recursion `delta2 = ...; dW2 = delta2 @ A1.T`. A batch is held as columns (one per
sample) in a block `V` of one row per node; its gradients in `G`, the same shape.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from autodiff.tape import Index, Tape, _DenseGroup

# How each op is spelled in numpy, forward and for the local derivative of each input: the
# same operations the op table's `vfn` and `local` do on arrays, so the numbers are the same.
# `{0}`, `{1}`, ... are the inputs, `{out}` the result, `{args}` all inputs.
_FORWARD = {
    "add": "{0} + {1}",
    "sub": "{0} - {1}",
    "mul": "{0} * {1}",
    "div": "{0} / {1}",
    "neg": "-{0}",
    "pow": "np.power({0}, {1})",
    "pow_value": "np.power({0}, {1})",
    "rpow": "np.power({1}, {0})",
    "exp": "np.exp({0})",
    "log": "np.log({0})",
    "tanh": "np.tanh({0})",
    "sigmoid": "sigmoid({0})",
    "relu": "np.maximum({0}, 0.0)",
    "leaky_relu": "np.where({0} > 0, {0}, {1} * {0})",
    "clamp": "np.clip({0}, {1}, {2})",
    "sqrt": "np.sqrt({0})",
    "abs": "np.abs({0})",
    "sin": "np.sin({0})",
    "cos": "np.cos({0})",
    "softplus": "softplus({0})",
    "sum": "add_in_order({args})",
    "logsumexp": "logsumexp({args})",
    "linear": "weighted_sum({args})",
    "softmax_ce": "softmax_ce({args})",
}
_LOCAL = {
    "add": ("1.0", "1.0"),
    "sub": ("1.0", "-1.0"),
    "mul": ("{1}", "{0}"),
    "div": ("1.0 / {1}", "-{out} / {1}"),
    "neg": ("-1.0",),
    "pow": ("power_slope({0}, {1})",),
    "pow_value": ("{1} * {0} ** ({1} - 1)", "{out} * log_or_zero({0})"),
    "rpow": ("{out} * log_or_zero({1})",),
    "exp": ("{out}",),
    "log": ("1.0 / {0}",),
    "tanh": ("1.0 - {out} * {out}",),
    "sigmoid": ("{out} * (1.0 - {out})",),
    "relu": ("({0} > 0).astype(float)",),
    "leaky_relu": ("np.where({0} > 0, 1.0, {1})",),
    "clamp": ("(({0} >= {1}) & ({0} <= {2})).astype(float)",),
    "sqrt": ("0.5 / {out}",),
    "abs": ("np.sign({0})",),
    "sin": ("np.cos({0})",),
    "cos": ("-np.sin({0})",),
    "softplus": ("sigmoid({0})",),
}

_HELPERS = """
def sigmoid(x):
    e = np.exp(-np.abs(x))  # never overflows; the two branches are the same function
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softplus(x):
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def add_in_order(*terms):
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def logsumexp(*xs):
    stacked = np.stack(np.broadcast_arrays(*xs))
    top = stacked.max(axis=0)
    return top + np.log(np.exp(stacked - top).sum(axis=0))


def weighted_sum(*args):
    n = len(args) // 2
    return sum(map(np.multiply, args[:n], args[n : 2 * n]), args[-1])


def softmax_ce(*args):
    n = len(args) // 2
    stacked = np.stack(np.broadcast_arrays(*args))
    zs, ts = stacked[:n], stacked[n:]
    shifted = zs - zs.max(axis=0)
    gaps = np.log(np.exp(shifted).sum(axis=0)) - shifted
    return (ts * np.where(ts != 0.0, gaps, 0.0)).sum(axis=0)


def softmax_ce_slope(i, *args):
    # softmax_i * sum(t) - t_i for a logit, logsumexp(z) - z_k for a weight, shifted by max(z)
    n = len(args) // 2
    stacked = np.stack(np.broadcast_arrays(*args))
    zs, ts = stacked[:n], stacked[n:]
    shifted = zs - zs.max(axis=0)
    e = np.exp(shifted)
    total = e.sum(axis=0)
    if i < n:
        return e[i] / total * ts.sum(axis=0) - ts[i]
    return np.log(total) - shifted[i - n]


def power_slope(x, n):
    return np.where(n == 0, 0.0, n * x ** (n - 1))


def log_or_zero(x):
    return np.log(np.where(x > 0, x, 1.0))
"""


def to_source(tape: Tape) -> str:
    """The source of `forward(X, theta)` and `backward(X, theta, reduction)` for `tape`."""
    writer = _Writer(tape)
    n_theta = len(tape.parameters)
    lines = [
        '"""The batch computation of a traced graph, written out by Tape.to_source().',
        "",
        "A batch is held as columns: A0 = X.T has one column per sample. V holds every node's",
        "values (a row per node), G their gradients. theta holds the parameters' numbers in",
        '`Tape.parameters` order; CONSTANTS the numbers the traced function made."""',
        "",
        "import numpy as np",
        "",
        f"CONSTANTS = np.array({np.asarray(tape._constant_data).tolist()!r})",
        "",
        _HELPERS.strip("\n"),
        "",
        "",
        "def parameters(theta):",
        '    """The leaves\' numbers (theta, then CONSTANTS) and each layer\'s W and b."""',
        "    leaf = np.concatenate([theta, CONSTANTS])",
        *writer.unpack(),
        f"    return leaf, {writer.layer_tuple()}",
        "",
        "",
        "def values(X, theta):",
        '    """Every node\'s values over the batch X (rows are samples)."""',
        f"    leaf, {writer.layer_tuple()} = parameters(theta)",
        f"    V = np.empty(({tape._size}, X.shape[0]))",
        f"    V[0:{tape.n_inputs}] = A0 = X.T",
        *writer.leaf_rows(),
    ]
    for group in tape._groups:
        lines.extend(writer.forward(group))
    roots = tape._roots.tolist()
    result = f"V[{roots[0]}].copy()" if len(roots) == 1 else f"V[{roots}].T.copy()"
    lines += [
        "    return V",
        "",
        "",
        "def forward(X, theta):",
        '    """The outputs for each row of X, shape (B,) (or (B, k) for k outputs)."""',
        "    V = values(X, theta)",
        f"    return {result}",
        "",
        "",
        'def backward(X, theta, reduction="mean"):',
        '    """The mean (or sum) over the batch of d(output)/d(theta), one per parameter."""',
        f"    leaf, {writer.layer_tuple()} = parameters(theta)",
        "    V = values(X, theta)",
        f"    A0 = V[0:{tape.n_inputs}]",
        *writer.aliases(),
        "    G = np.zeros_like(V)",
        f"    np.add.at(G, {roots}, 1.0)",
        "    dleaf = np.zeros(len(leaf))",
    ]
    for group in reversed(tape._groups):
        if isinstance(group, _DenseGroup):
            lines.extend(writer.dense_backward(group))
        else:
            lines.extend(writer.backward(group))
    wide = tape._wide_rows.tolist()
    if wide:
        lines.append(f"    dleaf[{tape._wide_parameters.tolist()}] += G[{wide}].sum(axis=1)")
    lines += [
        f"    dtheta = dleaf[:{n_theta}]",
        '    return dtheta / X.shape[0] if reduction == "mean" else dtheta',
        "",
    ]
    return "\n".join(lines)


class _Writer:
    """Names the blocks of a tape's plan and writes each group's lines."""

    def __init__(self, tape: Tape) -> None:
        self.tape = tape
        self.names: dict[tuple[int, int] | None, str] = {(0, tape.n_inputs): "A0"}
        self.layers: dict[int, tuple[str, str, int]] = {}  # group id -> W, b, layer number
        taken = {"A0"}
        for group in tape._groups:
            if isinstance(group, _DenseGroup):
                k = len(self.layers) + 1
                weight = _common_name([w for v in group.nodes for w in v.parents[: group.shape[1]]])
                bias = _common_name([v.parents[-1] for v in group.nodes])
                if weight is None or bias is None or {weight, bias} & taken or weight == bias:
                    weight, bias = f"W{k}", f"b{k}"
                taken |= {weight, bias}
                self.layers[id(group)] = (weight, bias, k)
                self.names[_span(group.out)] = f"Z{k}"
            elif len(group.args) == 1:
                source = self.names.get(_span(group.args[0]), "")
                if source.startswith("Z") and "A" + source[1:] not in taken:
                    self.names[_span(group.out)] = "A" + source[1:]  # a layer's activation
                    taken.add("A" + source[1:])

    def aliases(self) -> list[str]:
        """The named blocks as views of V."""
        return [
            f"    {name} = V[{span[0]}:{span[1]}]"
            for span, name in self.names.items()
            if span is not None and name != "A0"
        ]

    def layer_tuple(self) -> str:
        names = [n for w, b, _ in self.layers.values() for n in (w, b)]
        return "(" + ", ".join(names) + ("," if len(names) == 1 else "") + ")"

    def unpack(self) -> list[str]:
        n_theta = len(self.tape.parameters)
        lines = []
        for group in self.tape._groups:
            if isinstance(group, _DenseGroup) and id(group) in self.layers:
                weight, bias, _ = self.layers[id(group)]
                rows, cols = group.shape
                lines.append(
                    f"    {weight} = {_leaf(group.weights, n_theta)}.reshape({rows}, {cols})"
                )
                lines.append(f"    {bias} = {_leaf(group.biases, n_theta)}")
        return lines

    def leaf_rows(self) -> list[str]:
        tape = self.tape
        lines = []
        if len(tape._constant_rows):
            held_rows = _text(_span_or(tape._constant_rows))
            held = _span_or(tape._constant_positions)
            if isinstance(held, slice) and held == slice(0, len(tape._constant_data)):
                lines.append(f"    V[{held_rows}] = CONSTANTS[:, None]")
            else:
                lines.append(f"    V[{held_rows}] = CONSTANTS[{_text(held)}][:, None]")
        if len(tape._wide_rows):
            rows, positions = tape._wide_rows.tolist(), tape._wide_parameters.tolist()
            lines.append(f"    V[{rows}] = leaf[{positions}][:, None]")
        return lines

    def block(self, index: Index) -> str:
        """A block of rows by its name, or as rows of V."""
        span = _span(index)
        if span in self.names:
            return self.names[span]
        if span is not None and span[1] <= self.tape.n_inputs:
            return f"A0[{span[0]}:{span[1]}]"
        return f"V[{_text(index)}]"

    def forward(self, group: Any) -> list[str]:
        out = _text(group.out)
        name = self.names.get(_span(group.out))
        target = f"{name} = V[{out}]" if name else f"V[{out}]"
        if id(group) in self.layers:
            weight, bias, _ = self.layers[id(group)]
            return [f"    {target} = {weight} @ {self.block(group.inputs)} + {bias}[:, None]"]
        args = [self.block(arg) for arg in group.args]
        template = _FORWARD[group.op.name]
        return [f"    {target} = " + template.format(*args, args=", ".join(args))]

    def backward(self, group: Any) -> list[str]:
        args = [self.block(arg) for arg in group.args]
        out = self.block(group.out)
        lines = [f"    g = G[{_text(group.out)}]  # {group.op.name}"]
        for i, arg in enumerate(group.args[: len(group.args) - group.op.consts]):
            local = _local(group.op.name, i, args, out).format(*args, out=out)
            lines.append("    " + _add_into("G", arg, f"({local}) * g"))
        return lines

    def dense_backward(self, group: Any) -> list[str]:
        weight, bias, k = self.layers[id(group)]
        a = self.block(group.inputs)
        lines = [
            f"    delta{k} = G[{_text(group.out)}]  # d(output)/dZ{k}",
            f"    d{weight} = delta{k} @ {a}.T",
            f"    d{bias} = delta{k}.sum(axis=1)",
        ]
        if group.needs_input_grad:
            lines.append("    " + _add_into("G", group.inputs, f"{weight}.T @ delta{k}"))
        lines.append("    " + _add_into("dleaf", group.weights, f"d{weight}.ravel()"))
        lines.append("    " + _add_into("dleaf", group.biases, f"d{bias}"))
        return lines


def _local(op: str, i: int, args: list[str], out: str) -> str:
    if op == "sum":
        return "1.0"
    if op == "logsumexp":
        return f"np.exp({{{i}}} - {{out}})"
    if op == "linear":  # dz/dw_i = x_i, dz/dx_i = w_i, dz/db = 1
        n = len(args) // 2
        return "1.0" if i == 2 * n else f"{{{i + n if i < n else i - n}}}"
    if op == "softmax_ce":
        return f"softmax_ce_slope({i}, {', '.join(f'{{{k}}}' for k in range(len(args)))})"
    return _LOCAL[op][i]


def _add_into(block: str, index: Index, amount: str) -> str:
    """`block[index] += amount`, with np.add.at where the index names a row twice."""
    if isinstance(index, slice) or len(np.unique(index)) == len(index):
        return f"{block}[{_text(index)}] += {amount}"
    return f"np.add.at({block}, {_text(index)}, {amount})"


def _span(index: Index) -> tuple[int, int] | None:
    return (index.start, index.stop) if isinstance(index, slice) else None


def _span_or(rows: np.ndarray) -> Index:
    from autodiff.tape import _index

    return _index(rows.tolist())


def _text(index: Index) -> str:
    if isinstance(index, slice):
        return f"{index.start}:{index.stop}"
    return repr(index.tolist())


def _leaf(index: Index, n_theta: int) -> str:
    """Leaves by position: a slice of theta where they are parameters."""
    if isinstance(index, slice) and index.stop <= n_theta:
        return f"theta[{index.start}:{index.stop}]"
    return f"leaf[{_text(index)}]"


_LABEL = re.compile(r"([A-Za-z_]\w*)\[[\d, ]*\]")


def _common_name(leaves: list[Any]) -> str | None:
    """`W1` for leaves labelled `W1[0,0]`, `W1[0,1]`, ...: the name they share, if any."""
    names = {m.group(1) if (m := _LABEL.fullmatch(p.label)) else None for p in leaves}
    if len(names) != 1:
        return None
    name = names.pop()
    return None if name in _RESERVED else name


_RESERVED = {"np", "V", "G", "X", "g", "leaf", "dleaf", "theta", "dtheta", "reduction", "A0"}
