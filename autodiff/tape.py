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

Read = Callable[[np.ndarray], Any]
Add = Callable[[np.ndarray, Any], None]


def _index(rows: Sequence[int]) -> Index:
    rows = list(rows)
    if rows and rows == list(range(rows[0], rows[0] + len(rows))):
        return slice(rows[0], rows[0] + len(rows))
    return np.array(rows, dtype=np.intp)


def _reader(index: Index, column: np.ndarray | None = None) -> Read:
    """How a group reads one argument from the block: numbers fixed while tracing (constants)
    as a column, consecutive rows as a view, one row used by every node as that row alone
    (numpy broadcasts it), other rows gathered."""
    if column is not None:
        return lambda values: column
    if isinstance(index, slice):
        return lambda values: values[index]
    if (index == index[0]).all():
        one = slice(int(index[0]), int(index[0]) + 1)
        return lambda values: values[one]
    return lambda values: values[index]


def _adder(index: Index) -> Add:
    """How amounts (a row per entry of `index`) are added into a block's rows: in place for
    consecutive or distinct rows, summed first for one row named throughout, and with
    np.add.at (which adds a row named twice twice) otherwise. Decided once, at trace time."""
    if isinstance(index, slice):

        def add(block: np.ndarray, amounts: Any) -> None:
            block[index] += amounts

    elif (index == index[0]).all():
        one = int(index[0])

        def add(block: np.ndarray, amounts: Any) -> None:
            block[one] += amounts.sum(axis=0)

    elif len(np.unique(index)) == len(index):

        def add(block: np.ndarray, amounts: Any) -> None:
            block[index] += amounts

    else:

        def add(block: np.ndarray, amounts: Any) -> None:
            np.add.at(block, index, amounts)

    return add


def _constant_column(parents: list[Value], fixed: dict[Value, float]) -> np.ndarray | None:
    """The numbers of parents that are all constants, as a column; None if any is not."""
    if all(p in fixed for p in parents):
        return np.array([fixed[p] for p in parents])[:, None]
    return None


class _Group:
    """Nodes of one level that share an op and arity: one numpy call computes them all."""

    def __init__(
        self,
        op: Op,
        nodes: list[Value],
        row: dict[Value, int],
        fixed: dict[Value, float],
        needs_grad: set[Value],
    ) -> None:
        self.op = op
        self.nodes = nodes
        self.out = _index([row[n] for n in nodes])
        columns = [[n.parents[i] for n in nodes] for i in range(len(nodes[0].parents))]
        self.args = [_index([row[p] for p in column]) for column in columns]
        self.labels = [[p.label for p in n.parents] for n in nodes]
        self._read = [
            _reader(arg, _constant_column(column, fixed))
            for arg, column in zip(self.args, columns, strict=True)
        ]
        # gradients go only where a parameter lies upstream: none to a batch's inputs or constants
        differentiable = columns[: len(columns) - op.consts]
        self._add = [
            _adder(arg) if needs_grad.intersection(column) else None
            for arg, column in zip(self.args, differentiable, strict=False)
        ]
        self.differentiable = any(add is not None for add in self._add)

    @staticmethod
    def read_from_block(node: Value) -> tuple[Value, ...]:
        return node.parents

    def forward(self, values: np.ndarray, leaf: np.ndarray, careful: bool) -> None:
        args = [read(values) for read in self._read]
        for rule in self.op.domain:
            bad = rule.bad(*args)
            if bad.any():
                shape = (len(self.nodes), values.shape[1])
                node, sample = np.argwhere(np.broadcast_to(bad, shape))[0]
                label = self.labels[node][rule.arg]
                number = np.broadcast_to(args[rule.arg], shape)[node, sample]
                raise rule.error(
                    f"{self.op.name}: expected {rule.expected}, got {float(number)!r}"
                    + labelled(label)
                    + f" at row {sample}"
                )
        out = self.op.vfn(*args)
        values[self.out] = _finite(out, self.op.name) if careful else out

    def backward(
        self,
        values: np.ndarray,
        grads: np.ndarray,
        leaf: np.ndarray,
        totals: np.ndarray,
        careful: bool,
    ) -> None:
        g = grads[self.out]
        partials = self.op.local(*[read(values) for read in self._read], values[self.out])
        for add, partial in zip(self._add, partials, strict=False):
            if add is None:
                continue
            amounts = g if type(partial) is float and partial == 1.0 else partial * g
            if careful and not np.isfinite(amounts).all():
                amounts = _passed_on(partial, g, self.op.name)
            add(grads, amounts)


class _RowGroup:
    """Nodes of one level applying an op of many inputs (sum, logsumexp, a weighted sum that is
    not part of a layer, softmax_ce): each node's inputs are a row of a (nodes, n, B) array, so
    the op is a few numpy calls along that axis, whatever n is (one call per input would cost n).

    The terms are added in the order they were written, as eager adds them.
    """

    def __init__(
        self, op: Op, nodes: list[Value], row: dict[Value, int], needs_grad: set[Value]
    ) -> None:
        self.op = op
        self.nodes = nodes
        self.out = _index([row[n] for n in nodes])
        n = len(nodes[0].parents)
        self.args = [_index([row[node.parents[i]] for node in nodes]) for i in range(n)]
        self.labels = [[p.label for p in node.parents] for node in nodes]
        rows = np.array([[row[p] for p in node.parents] for node in nodes], dtype=np.intp)
        parents = [node.parents for node in nodes]
        # the parts of each node's inputs: (w..., x..., b) for linear, (z..., t...) for
        # softmax_ce, all terms otherwise
        m = n // 2
        spans = [(0, m), (m, 2 * m)] if op in (ops.LINEAR, ops.SOFTMAX_CE) else [(0, n)]
        self._widths = [b - a for a, b in spans]
        self._parts = [self._part(rows[:, a:b]) for a, b in spans]
        self._add = [
            _adder(_index(rows[:, a:b].ravel().tolist()))
            if needs_grad.intersection(p for ps in parents for p in ps[a:b])
            else None
            for a, b in spans
        ]
        self._bias: Read | None = None
        self._add_bias: Add | None = None
        if op is ops.LINEAR:
            self._bias = _reader(self.args[-1])
            if needs_grad.intersection(ps[-1] for ps in parents):
                self._add_bias = _adder(self.args[-1])
        self.differentiable = any(add is not None for add in [*self._add, self._add_bias])

    @staticmethod
    def _part(rows: np.ndarray) -> Read:
        """A reader of the (nodes, n, B) array: a view when the nodes' rows, one after the
        other, are consecutive."""
        span = _index(rows.ravel().tolist())
        if isinstance(span, slice):
            shape = (*rows.shape, -1)
            return lambda values: values[span].reshape(shape)
        return lambda values: values[rows]

    @staticmethod
    def read_from_block(node: Value) -> tuple[Value, ...]:
        return node.parents

    def forward(self, values: np.ndarray, leaf: np.ndarray, careful: bool) -> None:
        terms = self._parts[0](values)
        if self.op is ops.SUM:
            out = terms.sum(axis=1)
        elif self.op is ops.LOGSUMEXP:
            top = terms.max(axis=1)
            out = top + np.log(np.exp(terms - top[:, None]).sum(axis=1))
        elif self.op is ops.SOFTMAX_CE:
            out = _softmax_ce(terms, self._parts[1](values))
        else:  # linear: b + w_1 x_1 + ... + w_n x_n, in this order
            assert self._bias is not None
            k, m, width = terms.shape
            stacked = np.empty((k, m + 1, width))
            stacked[:, 0] = self._bias(values)
            np.multiply(terms, self._parts[1](values), out=stacked[:, 1:])
            out = stacked.sum(axis=1)
        values[self.out] = _finite(out, self.op.name) if careful else out

    def backward(
        self,
        values: np.ndarray,
        grads: np.ndarray,
        leaf: np.ndarray,
        totals: np.ndarray,
        careful: bool,
    ) -> None:
        g = grads[self.out]
        per_term = g[:, None]
        if self.op is ops.SUM:
            partials: list[Any] = [1.0]
        elif self.op is ops.LOGSUMEXP:
            partials = [np.exp(self._parts[0](values) - values[self.out][:, None])]
        elif self.op is ops.SOFTMAX_CE:
            partials = _softmax_ce_slopes(
                self._parts[0](values), self._parts[1](values), self._add[1] is not None
            )
        else:  # dz/dw_i = x_i, dz/dx_i = w_i
            partials = [self._parts[1](values), self._parts[0](values)]
        width = values.shape[1]
        for add, partial, n in zip(self._add, partials, self._widths, strict=False):
            if add is None:
                continue
            amounts = per_term if type(partial) is float else partial * per_term
            if careful and not np.isfinite(amounts).all():
                amounts = _passed_on(partial, per_term, self.op.name)
            if amounts.shape[1] != n:  # a sum's gradient, the same for each of its terms
                amounts = np.repeat(amounts, n, axis=1)
            add(grads, amounts.reshape(-1, width))
        if self._add_bias is not None:
            self._add_bias(grads, g)


def _softmax_ce(zs: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Σ_k t_k (logsumexp(z) - z_k) for each node, from its logits and weights as rows of
    (nodes, n, B) arrays, as the row computes it on one: each term shifted by the largest
    logit m as (m - z_k) + log Σ exp(z - m), and terms of weight 0 left out (0·inf would be
    nan)."""
    shifted = zs - zs.max(axis=1, keepdims=True)
    gaps = np.log(np.exp(shifted).sum(axis=1, keepdims=True)) - shifted
    return (ts * np.where(ts != 0.0, gaps, 0.0)).sum(axis=1)


def _softmax_ce_slopes(zs: np.ndarray, ts: np.ndarray, for_targets: bool) -> list[Any]:
    """The row's local rule on (nodes, n, B) arrays: softmax(z)·Σt - t for the logits and, when
    `for_targets`, (m - z_k) + log Σ exp(z - m) for the weights (else None: none is needed)."""
    shifted = zs - zs.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=1, keepdims=True)
    to_logits = e / total * ts.sum(axis=1, keepdims=True) - ts
    return [to_logits, np.log(total) - shifted if for_targets else None]


def _passed_on(partial: Any, g: np.ndarray, where: str) -> np.ndarray:
    """partial · g where a gradient arrives (none arriving passes nothing on, as in eager), or
    the error eager backward gives: an infinite slope is a division by zero, a finite slope
    times a finite gradient past the float range an overflow."""
    partial, g = np.broadcast_arrays(partial, g)
    reached = g != 0.0
    amounts = np.where(reached, partial * g, 0.0)
    bad = ~np.isfinite(amounts)
    if bad.any():
        sample = np.argwhere(bad)[0][-1]
        if not np.isfinite(partial[bad]).all():
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

    differentiable = True

    def __init__(
        self,
        nodes: list[Value],
        row: dict[Value, int],
        leaf_position: dict[Value, int],
        needs_grad: set[Value],
    ) -> None:
        n = len(nodes[0].parents) // 2
        self.nodes = nodes
        self.shape = (len(nodes), n)
        self.out = _index([row[v] for v in nodes])
        self.weights = _index([leaf_position[w] for v in nodes for w in v.parents[:n]])
        self.biases = _index([leaf_position[v.parents[-1]] for v in nodes])
        shared = nodes[0].parents[n : 2 * n]
        self.inputs = _index([row[p] for p in shared])
        self.needs_input_grad = not needs_grad.isdisjoint(shared)  # a batch's inputs need none
        self._add_input = _adder(self.inputs)
        self._add_weights = _adder(self.weights)
        self._add_biases = _adder(self.biases)

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

    def forward(self, values: np.ndarray, leaf: np.ndarray, careful: bool) -> None:
        z = self.matrix(leaf) @ values[self.inputs] + leaf[self.biases][:, None]
        values[self.out] = _finite(z, "linear") if careful else z

    def backward(
        self,
        values: np.ndarray,
        grads: np.ndarray,
        leaf: np.ndarray,
        totals: np.ndarray,
        careful: bool,
    ) -> None:
        g = grads[self.out]
        if self.needs_input_grad:
            self._add_input(grads, self.matrix(leaf).T @ g)
        self._add_weights(totals, (g @ values[self.inputs].T).ravel())
        self._add_biases(totals, g.sum(axis=1))


def _finite(array: np.ndarray, where: str) -> np.ndarray:
    """`array`, or OverflowError naming the first row (the last axis) where it is not finite."""
    finite = np.isfinite(array)
    if not finite.all():
        sample = np.argwhere(~finite)[0][-1]
        raise OverflowError(f"{where}: result overflows a float at row {sample}")
    return array


def _reaches(index: Index, n: int) -> bool:
    """True when `index` names a row at or past n."""
    return (index.stop if isinstance(index, slice) else int(index.max()) + 1) > n


_MANY_INPUTS = (ops.SUM, ops.LOGSUMEXP, ops.LINEAR, ops.SOFTMAX_CE)


MAX_BLOCK_BYTES = 256 * 2**20
"""The most a replay's block of values may take: larger batches are replayed in chunks when
nothing is kept for `backward`, and refused (with the chunk size to use) when it is."""


class Tape:
    """A recorded scalar graph that evaluates and differentiates whole batches with numpy.

    The graph is compiled once into a plan: nodes grouped by level and op, each group's results
    in consecutive rows of a (nodes, B) block, layers of neurons as matrix products whose
    weights are read from the parameters' numbers directly.
    """

    def __init__(
        self,
        roots: list[Value],
        inputs: list[Value],
        constants: set[Value],
        order: list[Value] | None = None,
    ) -> None:
        if order is None:
            order = fusion.order_of(roots)
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
        # the leaves read from the block (by groups other than layers, as a layer's input, or as
        # an output) need rows holding their numbers; layers read theirs from the leaves' vector
        read = {
            p
            for (_, nodes), is_dense in zip(buckets, dense, strict=True)
            for v in nodes
            for p in (_DenseGroup.read_from_block(v) if is_dense else v.parents)
        }
        read.update(roots)
        needs_grad = set(self.parameters)  # the nodes with a parameter upstream
        for node in order:
            if node.op is not None and not needs_grad.isdisjoint(node.parents):
                needs_grad.add(node)
        # rows: the inputs, the constants and parameters read, then each group's results together
        self.n_inputs = len(inputs)
        self.n_outputs = len(roots)
        held = [c for c in fixed if c in read] + [p for p in self.parameters if p in read]
        row = {x: i for i, x in enumerate([*inputs, *held])}
        n_held_constants = len(held) - len(read.intersection(self.parameters))
        start = self.n_inputs + n_held_constants
        self._constant_rows = np.arange(self.n_inputs, start, dtype=np.intp)
        self._constant_positions = np.array(
            [leaf_position[c] - len(self.parameters) for c in held[:n_held_constants]],
            dtype=np.intp,
        )
        self._wide_rows = np.arange(start, len(row), dtype=np.intp)
        self._wide_parameters = np.array(
            [leaf_position[p] for p in held[n_held_constants:]], dtype=np.intp
        )
        self._wide = slice(start, len(row))
        self._first_result = len(row)
        numbers = {c: c.data for c in fixed}
        self._groups: list[_Group | _RowGroup | _DenseGroup] = []
        for (key, nodes), is_dense in zip(buckets, dense, strict=True):
            if not is_dense:
                nodes.sort(key=lambda v: row[v.parents[0]])  # so that its first inputs are a slice
            for v in nodes:
                row[v] = len(row)
            if is_dense:
                self._groups.append(_DenseGroup(nodes, row, leaf_position, needs_grad))
            elif key[1] in _MANY_INPUTS:
                self._groups.append(_RowGroup(key[1], nodes, row, needs_grad))
            else:
                self._groups.append(_Group(key[1], nodes, row, numbers, needs_grad))
        self._backward_groups = [g for g in reversed(self._groups) if g.differentiable]
        # layers reading a constant's number as a weight or bias need the constants' numbers
        self._layers_read_constants = any(
            _reaches(index, len(self.parameters))
            for g in self._groups
            if isinstance(g, _DenseGroup)
            for index in (g.weights, g.biases)
        )
        self._size = len(row)
        self._roots = np.array([row[root] for root in roots], dtype=np.intp)
        self._roots_distinct = len(set(roots)) == len(roots)
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
        leaf = self._theta(theta)
        if self._layers_read_constants:
            leaf = np.concatenate([leaf, self._constant_data])
        elif theta is not None and keep:
            leaf = leaf.copy()  # kept for backward: the caller may change theta meanwhile
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
        """The outputs for the rows of X. The replay checks nothing along the way, then once
        that every result is finite; if one is not, or an op met an input outside its domain,
        it replays again, checking each group, so the error is the first one eager meets."""
        if values is None:
            values = self._block(len(X), keep=False)
        values[: self.n_inputs] = X.T
        values[self._wide] = leaf[self._wide_parameters, None]
        with np.errstate(all="ignore"):
            try:
                for group in self._groups:
                    group.forward(values, leaf, False)
                finite = bool(np.isfinite(values[self._first_result :].sum()))
            except (ArithmeticError, ValueError):
                finite = False
            if not finite:  # rare: find the error, or find that the sum alone overflowed
                for group in self._groups:
                    group.forward(values, leaf, True)
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
        if self._grads.shape != values.shape:
            self._grads = np.empty_like(values)
        # unchecked first, as forward; a gradient that is not finite anywhere (or a slope that
        # is infinite where no gradient arrives, which eager skips) sends it round again, checked
        with np.errstate(all="ignore"):
            totals = self._sweep(values, leaf, careful=False)
            if not np.isfinite(self._grads.sum() + totals.sum()):
                totals = self._sweep(values, leaf, careful=True)
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

    def _sweep(self, values: np.ndarray, leaf: np.ndarray, careful: bool) -> np.ndarray:
        """The batch sums of d(output)/d(parameter): the groups in reverse, from the outputs."""
        grads = self._grads
        grads.fill(0.0)
        if self._roots_distinct:
            grads[self._roots] = 1.0
        else:  # an output listed twice counts twice
            np.add.at(grads, self._roots, 1.0)
        totals = np.zeros(len(leaf))  # batch sums for every leaf, read by layers from `leaf`
        for group in self._backward_groups:
            group.backward(values, grads, leaf, totals, careful)
        totals = totals[: len(self.parameters)]
        totals[self._wide_parameters] += grads[self._wide].sum(axis=1)
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
            values[self._constant_rows] = self._constant_data[self._constant_positions, None]
            if keep:
                if len(self._buffers) >= _KEPT_SIZES:  # a full batch and a last, shorter one
                    del self._buffers[next(iter(self._buffers))]
                self._buffers[rows] = values
        return values

    def theta(self) -> np.ndarray:
        """The parameters' numbers now (their `.data`), in `parameters` order: a vector to pass
        to `forward` for many batches at the same numbers, read once."""
        numbers = np.fromiter((p.data for p in self.parameters), float, len(self.parameters))
        if not np.isfinite(numbers).all():
            parameter = self.parameters[int(np.argmax(~np.isfinite(numbers)))]
            raise ValueError(
                f"Tape.forward: parameters must be finite (got {parameter.data!r}"
                f"{labelled(parameter.label)})"
            )
        return numbers

    def _theta(self, theta: Any) -> np.ndarray:
        """The parameters' numbers: `theta` checked, or the parameter Values' `.data`."""
        if theta is None:
            return self.theta()
        numbers = theta if _plain(theta, 1) else real_array(theta, "Tape.forward: theta", ndim=1)
        if numbers.shape != (len(self.parameters),):
            raise ValueError(
                f"Tape.forward: theta must have one number per parameter, {len(self.parameters)} "
                f"(got {numbers.shape[0]})"
            )
        return numbers

    def _check_batch(self, X: Any) -> np.ndarray:
        if not _plain(X, 2):
            X = real_array(X, "Tape.forward: X", ndim=2)
        if X.shape[1] != self.n_inputs:
            raise ValueError(
                f"Tape.forward: X must have shape (B, {self.n_inputs}) (got {X.shape})"
            )
        if X.shape[0] == 0:
            raise ValueError("Tape.forward: X must have at least one row (got 0)")
        return X


def _plain(x: Any, ndim: int) -> bool:
    """True for a float array of `ndim` axes whose numbers are all finite: what `real_array`
    passes as it is, told in a few numpy calls (a training loop replays thousands of batches)."""
    if type(x) is not np.ndarray or x.dtype != np.float64 or x.ndim != ndim:
        return False
    return bool(np.isfinite(x).all())


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
    order = fusion.order_of(roots)
    if fuse:
        roots, zero, order = fusion.fuse(roots, inputs, constants, order)
        constants |= zero
    return Tape(roots, inputs, constants, order)
