"""Record a scalar graph once, then replay it over whole numpy batches.

`trace(fn, n_inputs)` runs `fn` on placeholder inputs whose numbers are unknown, so the graph
it records is the same for every row. `Tape.forward(X)` evaluates that graph for all B rows at
once, level by level: nodes whose inputs are all computed are grouped by op, and each group is
one numpy call on a (nodes, B) block. `Tape.backward()` walks the levels in reverse with the same
local-derivative rules the eager engine uses, and adds the batch's gradients into the
parameters' `.grad`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autodiff import fuse as fusion
from autodiff import ops
from autodiff.backward import topological_order
from autodiff.checks import labelled, real_array
from autodiff.op import Op
from autodiff.value import EAGER, RECORDING, Eager, Value, make_node


class _Traced:
    """Stands for a number not known while `trace` records: any use of it as a number fails.

    A traced function must compute with Value operations only; reading `.data` to branch or
    to call math functions would bake one row's choice into the tape for every row.
    """

    __slots__ = ()

    def _refuse(self, *_: object) -> Any:
        raise TypeError(
            "trace: the function used the number inside a traced Value (.data); a traced "
            "function must use Value operations only, since the tape replays one graph for "
            "every row"
        )

    __bool__ = __float__ = __int__ = __index__ = _refuse
    __lt__ = __le__ = __gt__ = __ge__ = __eq__ = __ne__ = _refuse
    __hash__ = None  # type: ignore[assignment]  # equal-or-not is also a question about data
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __pow__ = __rpow__ = __neg__ = __abs__ = _refuse

    def __format__(self, spec: str) -> str:
        return "<traced>"

    def __repr__(self) -> str:
        return "<traced>"


TRACED = _Traced()


class _Tracer(Eager):
    """The interpreter inside `trace`: results of the inputs are recorded with unknown numbers.

    Ops on numbers already known (a weight times a constant) are computed at once, as when
    recording eagerly. The leaves made while tracing are the tape's constants.
    """

    name = "trace"

    def __init__(self) -> None:
        self.constants: list[Value] = []

    def apply(self, op: Op, parents: tuple[Value, ...]) -> Value:
        if any(p.data is TRACED for p in parents):
            return make_node(TRACED, parents, op)
        return EAGER.apply(op, parents)

    def leaf(self, value: Value) -> None:
        self.constants.append(value)


Index = slice | np.ndarray
"""Rows of a block: a slice where they are consecutive (a view, no copy), else an index array."""


def _index(rows: Sequence[int]) -> Index:
    rows = list(rows)
    if rows and rows == list(range(rows[0], rows[0] + len(rows))):
        return slice(rows[0], rows[0] + len(rows))
    return np.array(rows, dtype=np.intp)


def _scatter_add(block: np.ndarray, index: Index, amounts: Any) -> None:
    """block[index] += amounts, where an index array may name a row more than once."""
    if isinstance(index, slice) or len(np.unique(index)) == len(index):
        block[index] += amounts
    else:
        np.add.at(block, index, np.broadcast_to(amounts, (len(index), *block.shape[1:])))


class _Group:
    """Nodes of one level that share an op and arity: one numpy call computes them all."""

    def __init__(self, op: Op, nodes: list[Value], row: dict[Value, int]) -> None:
        self.op = op
        self.nodes = nodes
        self.out = _index([row[n] for n in nodes])
        self.args = [
            _index([row[n.parents[i]] for n in nodes]) for i in range(len(nodes[0].parents))
        ]
        self.labels = [[p.label for p in n.parents] for n in nodes]

    @staticmethod
    def read_from_block(node: Value) -> tuple[Value, ...]:
        return node.parents

    def inputs(self, values: np.ndarray) -> list[np.ndarray]:
        return [values[arg] for arg in self.args]

    def forward(self, values: np.ndarray, leaf: np.ndarray) -> None:
        args = self.inputs(values)
        for rule in self.op.domain:
            bad = np.broadcast_to(rule.bad(*args), args[0].shape)
            if bad.any():
                node, sample = np.argwhere(bad)[0]
                label = self.labels[node][rule.arg]
                raise rule.error(
                    f"{self.op.name}: expected {rule.expected}, got "
                    f"{float(args[rule.arg][node, sample])!r}"
                    + labelled(label)
                    + f" at row {sample}"
                )
        values[self.out] = _finite(self.op.vfn(*args), self.op.name)

    def backward(
        self, values: np.ndarray, grads: np.ndarray, leaf: np.ndarray, totals: np.ndarray
    ) -> None:
        g = grads[self.out]
        partials = self.op.local(*self.inputs(values), values[self.out])
        for arg, partial in zip(self.args, partials, strict=False):
            amounts = partial * g
            if not np.isfinite(amounts).all():
                amounts = _passed_on(partial, g, self.op.name)
            _scatter_add(grads, arg, amounts)


def _passed_on(partial: Any, g: np.ndarray, where: str) -> np.ndarray:
    """partial · g where a gradient arrives (none arriving passes nothing on, as in eager), or
    the error eager backward gives: an infinite slope is a division by zero, a finite slope
    times a finite gradient past the float range an overflow."""
    reached = g != 0.0
    amounts = np.where(reached, partial * g, 0.0)
    bad = ~np.isfinite(amounts)
    if bad.any():
        sample = np.argwhere(bad)[0][-1]
        if not np.isfinite(np.broadcast_to(partial, g.shape)[bad]).all():
            raise ZeroDivisionError(
                f"backward through {where}: infinite derivative at row {sample}"
            )
        raise OverflowError(
            f"backward through {where}: the gradient overflows a float at row {sample}"
        )
    return amounts


class _DenseGroup:
    """Neurons of one layer: `linear` nodes reading the same inputs, with leaf weights and biases.

    Their rule (dz/dw_i = x_i, dz/dx_i = w_i, dz/db = 1) evaluated over a batch is a pair of
    matrix products: z = W x + b forward; dx = Wᵀ g and dW = g xᵀ (already summed over the
    batch) backward. W and b are read from the leaves' numbers, not from the block.
    """

    def __init__(
        self,
        nodes: list[Value],
        row: dict[Value, int],
        leaf_position: dict[Value, int],
        n_inputs: int,
    ) -> None:
        n = len(nodes[0].parents) // 2
        self.nodes = nodes
        self.shape = (len(nodes), n)
        self.out = _index([row[v] for v in nodes])
        self.weights = _index([leaf_position[w] for v in nodes for w in v.parents[:n]])
        self.biases = _index([leaf_position[v.parents[-1]] for v in nodes])
        input_rows = [row[p] for p in nodes[0].parents[n : 2 * n]]
        self.inputs = _index(input_rows)
        self.needs_input_grad = max(input_rows) >= n_inputs  # a batch's inputs need none

    @staticmethod
    def read_from_block(node: Value) -> tuple[Value, ...]:
        """The inputs; weights and bias are read from the parameters' numbers."""
        n = len(node.parents) // 2
        return node.parents[n : 2 * n]

    @staticmethod
    def fits(nodes: list[Value], leaves: set[Value]) -> bool:
        """True when the nodes share distinct inputs and every weight and bias is a leaf."""
        n = len(nodes[0].parents) // 2
        shared = nodes[0].parents[n : 2 * n]
        return len(set(shared)) == n and all(
            v.parents[n : 2 * n] == shared
            and v.parents[-1] in leaves
            and all(w in leaves for w in v.parents[:n])
            for v in nodes
        )

    def matrix(self, leaf: np.ndarray) -> np.ndarray:
        return leaf[self.weights].reshape(self.shape)

    def forward(self, values: np.ndarray, leaf: np.ndarray) -> None:
        z = self.matrix(leaf) @ values[self.inputs] + leaf[self.biases][:, None]
        values[self.out] = _finite(z, "linear")

    def backward(
        self, values: np.ndarray, grads: np.ndarray, leaf: np.ndarray, totals: np.ndarray
    ) -> None:
        g = grads[self.out]
        if self.needs_input_grad:
            _scatter_add(grads, self.inputs, self.matrix(leaf).T @ g)
        _scatter_add(totals, self.weights, (g @ values[self.inputs].T).ravel())
        _scatter_add(totals, self.biases, g.sum(axis=1))


def _finite(array: np.ndarray, where: str) -> np.ndarray:
    """`array`, or OverflowError naming the first row (the last axis) where it is not finite."""
    finite = np.isfinite(array)
    if not finite.all():
        sample = np.argwhere(~finite)[0][-1]
        raise OverflowError(f"{where}: result overflows a float at row {sample}")
    return array


MAX_BLOCK_BYTES = 256 * 2**20
"""The most a replay's block of values may take: larger batches are replayed in chunks when
nothing is kept for `backward`, and refused (with the chunk size to use) when it is."""


class Tape:
    """A recorded scalar graph that evaluates and differentiates whole batches with numpy.

    The graph is compiled once into a plan: nodes grouped by level and op, each group's results
    in consecutive rows of a (nodes, B) block, layers of neurons as matrix products whose
    weights are read from the parameters' numbers directly.
    """

    def __init__(self, roots: list[Value], inputs: list[Value], constants: set[Value]) -> None:
        order = list(dict.fromkeys(node for root in roots for node in topological_order(root)))
        placeholders = set(inputs)
        leaves = [node for node in order if node.op is None and node not in placeholders]
        buckets = _buckets(order)
        leaf_set = set(leaves)
        dense = [
            key[1] is ops.LINEAR and _DenseGroup.fits(nodes, leaf_set) for key, nodes in buckets
        ]
        # parameters layer by layer (each W row by row, then b), as a model lists them, so that
        # a layer's weights are one slice of theta; then the rest in the order they are met
        in_layers = [
            p
            for (_, nodes), is_dense in zip(buckets, dense, strict=True)
            if is_dense
            for p in [
                *(w for v in nodes for w in v.parents[: len(v.parents) // 2]),
                *(v.parents[-1] for v in nodes),
            ]
        ]
        self.parameters: list[Value] = [
            p for p in dict.fromkeys([*in_layers, *leaves]) if p not in constants
        ]
        fixed = [leaf for leaf in leaves if leaf in constants]
        self._constant_data = np.array([c.data for c in fixed], dtype=float)
        leaf_position = {p: i for i, p in enumerate([*self.parameters, *fixed])}
        # rows: the inputs, the leaves, then each group's results together
        self.n_inputs = len(inputs)
        self.n_outputs = len(roots)
        row = {x: i for i, x in enumerate(inputs)}
        row.update((p, self.n_inputs + i) for p, i in leaf_position.items())
        self._groups: list[_Group | _DenseGroup] = []
        for (key, nodes), is_dense in zip(buckets, dense, strict=True):
            if not is_dense:
                nodes.sort(key=lambda v: row[v.parents[0]])  # so that its first inputs are a slice
            row.update((v, len(row)) for v in nodes)
            if is_dense:
                self._groups.append(_DenseGroup(nodes, row, leaf_position, self.n_inputs))
            else:
                self._groups.append(_Group(key[1], nodes, row))
        self._size = len(row)
        self._roots = np.array([row[root] for root in roots], dtype=np.intp)
        # parameters read from the block (by groups other than layers, as a layer's input, or as
        # an output) need rows filled with their numbers
        read = {p for g in self._groups for v in g.nodes for p in g.read_from_block(v)}
        read.update(roots)
        wide = sorted(row[p] for p in read.intersection(self.parameters))
        self._wide_rows = np.array(wide, dtype=np.intp)
        self._wide_parameters = self._wide_rows - self.n_inputs
        self._constant_rows = (
            np.arange(len(fixed), dtype=np.intp) + self.n_inputs + len(self.parameters)
        )
        self._buffers: dict[int, np.ndarray] = {}
        self._values: tuple[np.ndarray, np.ndarray] | None = None
        self._grads = np.empty((0, 0))

    def forward(self, X: Any, theta: Any = None, *, keep: bool = True) -> np.ndarray:
        """fn on every row of X (shape (B, n_inputs)): shape (B,), or (B, k) for k outputs.

        `theta`, a 1-d array in `parameters` order, gives the parameters' numbers in place of
        their Values' `.data` (a training loop can keep them in one vector). The batch's
        intermediate values are kept for `backward`; `keep=False` keeps nothing (prediction)
        and replays a large batch in chunks, so memory stays bounded.
        """
        self._values = None
        X = self._check_batch(X)
        leaf = np.concatenate([self._theta(theta), self._constant_data])
        chunk = max(1, MAX_BLOCK_BYTES // (8 * self._size))
        if len(X) > chunk:
            if keep:
                need = 8 * self._size * len(X) / 2**20
                raise ValueError(
                    f"Tape.forward: X must have at most {chunk} rows when kept for backward "
                    f"(got {len(X)}, which would take {need:.0f} MiB); pass keep=False to "
                    f"predict, or differentiate in batches of at most {chunk} rows"
                )
            return np.concatenate(
                [self._replay(X[i : i + chunk], leaf) for i in range(0, len(X), chunk)]
            )
        values = self._block(len(X), keep)
        outputs = self._replay(X, leaf, values)
        if keep:
            self._values = (values, leaf)
        return outputs

    def _replay(
        self, X: np.ndarray, leaf: np.ndarray, values: np.ndarray | None = None
    ) -> np.ndarray:
        if values is None:
            values = self._block(len(X), keep=False)
        values[: self.n_inputs] = X.T
        values[self._wide_rows] = leaf[self._wide_parameters, None]
        with np.errstate(all="ignore"):
            for group in self._groups:
                group.forward(values, leaf)
        if self.n_outputs == 1:
            return values[self._roots[0]].copy()
        return values[self._roots].T.copy()

    def gradient(self, reduction: str = "mean") -> np.ndarray:
        """After `forward`: the batch's mean (or sum) of d(output)/d(parameter), in `parameters`
        order, as a 1-d array; no `.grad` is touched. With several outputs, their sum's."""
        if reduction not in ("mean", "sum"):
            raise ValueError(f"Tape.backward: reduction must be 'mean' or 'sum', got {reduction!r}")
        if self._values is None:
            raise RuntimeError("Tape.backward: call forward(X) first")
        values, leaf = self._values
        grads = (
            np.zeros_like(values)
            if self._grads is None or self._grads.shape != values.shape
            else self._grads
        )
        grads.fill(0.0)
        self._grads = grads
        np.add.at(grads, self._roots, 1.0)
        totals = np.zeros(len(leaf))  # batch sums for every leaf, read by layers from `leaf`
        with np.errstate(all="ignore"):
            for group in reversed(self._groups):
                group.backward(values, grads, leaf, totals)
            totals = totals[: len(self.parameters)]
            totals[self._wide_parameters] += grads[self._wide_rows].sum(axis=1)
            if reduction == "mean":
                totals /= values.shape[1]
        overflowed = ~np.isfinite(totals)
        if overflowed.any():
            parameter = self.parameters[int(np.argmax(overflowed))]
            raise OverflowError(
                f"Tape.backward: the batch's gradient of the parameter {parameter.data!r}"
                f"{labelled(parameter.label)} overflows a float"
            )
        return totals

    def backward(self, reduction: str = "mean") -> None:
        """Add the batch's mean (or sum) of d(output)/d(parameter) to each parameter's .grad.

        With several outputs, the output differentiated is their sum.
        """
        totals = self.gradient(reduction)
        for parameter, total in zip(self.parameters, totals.tolist(), strict=True):
            parameter.grad += total

    def to_source(self) -> str:
        """The compiled batch computation as readable numpy code: `forward(X, theta)` gives the
        (B,) outputs, `backward(X, theta, reduction="mean")` the reduced d(output)/d(theta),
        with theta in `parameters` order. Layers are matrix products named after their
        parameters' labels (`W1 @ A0 + b1[:, None]`); executed, it gives this tape's numbers."""
        from autodiff.source import to_source  # the writer reads the tape's plan: a cycle

        return to_source(self)

    def _block(self, rows: int, keep: bool) -> np.ndarray:
        """The value block for a batch of `rows`. Blocks of batches kept for backward (training)
        are kept for the next batch of the same size, since a fresh block costs page faults
        that take longer than the arithmetic; prediction's blocks are freed after use."""
        values = self._buffers.get(rows)
        if values is None:
            values = np.empty((self._size, rows))
            values[self._constant_rows] = self._constant_data[:, None]
            if keep:
                if len(self._buffers) >= _KEPT_SIZES:  # a full batch and a last, shorter one
                    del self._buffers[next(iter(self._buffers))]
                self._buffers[rows] = values
        return values

    def _theta(self, theta: Any) -> np.ndarray:
        """The parameters' numbers: `theta` checked, or the parameter Values' `.data`."""
        if theta is None:
            numbers = np.array([p.data for p in self.parameters], dtype=float)
            if not np.isfinite(numbers).all():
                parameter = self.parameters[int(np.argmax(~np.isfinite(numbers)))]
                raise ValueError(
                    f"Tape.forward: parameters must be finite (got {parameter.data!r}"
                    f"{labelled(parameter.label)})"
                )
            return numbers
        numbers = real_array(theta, "Tape.forward: theta", ndim=1)
        if numbers.shape != (len(self.parameters),):
            raise ValueError(
                f"Tape.forward: theta must have one number per parameter, {len(self.parameters)} "
                f"(got {numbers.shape[0]})"
            )
        return numbers

    def _check_batch(self, X: Any) -> np.ndarray:
        X = real_array(X, "Tape.forward: X", ndim=2)
        if X.shape[1] != self.n_inputs:
            raise ValueError(
                f"Tape.forward: X must have shape (B, {self.n_inputs}) (got {X.shape})"
            )
        if X.shape[0] == 0:
            raise ValueError("Tape.forward: X must have at least one row (got 0)")
        return X


def _buckets(order: list[Value]) -> list[tuple[tuple[Any, ...], list[Value]]]:
    """Nodes bucketed by level (1 + their parents' highest), op and arity, in level order.

    `linear` nodes are also bucketed by their inputs, so that a layer's neurons meet.
    """
    level: dict[Value, int] = {}
    buckets: dict[tuple[Any, ...], list[Value]] = {}
    for node in order:
        if node.op is None:
            level[node] = 0
            continue
        level[node] = 1 + max(level[p] for p in node.parents)
        key: tuple[Any, ...] = (level[node], node.op, len(node.parents))
        if node.op is ops.LINEAR:
            key += node.parents[len(node.parents) // 2 : -1]
        buckets.setdefault(key, []).append(node)
    return sorted(buckets.items(), key=lambda item: item[0][0])


_KEPT_SIZES = 2


def trace(fn: Callable[..., Value | Sequence[Value]], n_inputs: int, *, fuse: bool = True) -> Tape:
    """Record fn(*xs) for `n_inputs` input Values once, as a Tape to replay over batches.

    fn returns one Value (or a sequence of Values: a model's several outputs). Leaf Values that
    existed before the call (a model's weights) become the tape's parameters; Values that fn
    makes from plain numbers are constants. fn must not look at its inputs' numbers (`.data`):
    it would branch the same way for every row, so that raises TypeError.

    With `fuse` (the default) the tape runs chains of additions as one sum and neurons written
    as sums of products as matrix products (see `autodiff.fuse`); the numbers are the same.
    """
    if not isinstance(n_inputs, int) or isinstance(n_inputs, bool) or n_inputs < 1:
        raise ValueError(f"trace: n_inputs must be a positive int, got {n_inputs!r}")
    tracer = _Tracer()
    inputs = [make_node(TRACED, (), None) for _ in range(n_inputs)]
    for i, x in enumerate(inputs):
        x.label = f"x{i}"
    token = RECORDING.set(tracer)
    try:
        out = fn(*inputs)
    finally:
        RECORDING.reset(token)
    returned = list(out) if isinstance(out, list | tuple) else [out]
    roots = [root for root in returned if isinstance(root, Value)]
    if not roots or len(roots) != len(returned):
        raise TypeError(
            f"trace: fn must return a Value or a sequence of Values, got {type(out).__name__} "
            f"{out!r}"
        )
    constants = set(tracer.constants)
    if fuse:
        roots, zero = fusion.fuse(roots, inputs, constants)
        constants |= zero
    return Tape(roots, inputs, constants)
