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


class _Group:
    """Nodes of one level that share an op and arity: one numpy call computes them all."""

    def __init__(self, op: Op, nodes: list[Value], row: dict[Value, int]) -> None:
        self.op = op
        self.out = np.array([row[n] for n in nodes], dtype=np.intp)
        self.parents = np.array([[row[p] for p in n.parents] for n in nodes], dtype=np.intp)
        self.labels = [[p.label for p in n.parents] for n in nodes]
        # contributions are stacked input position by input position, then summed per target
        self.targets = self.parents[:, : self.parents.shape[1] - op.consts].T.ravel()
        self.order = np.argsort(self.targets, kind="stable")
        self.unique, self.starts = np.unique(self.targets[self.order], return_index=True)

    def forward(self, values: np.ndarray) -> None:
        args = list(values[self.parents.T])
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
        values[self.out] = _finite(self.op.vfn(*args), OverflowError, self.op.name)

    def backward(self, values: np.ndarray, grads: np.ndarray, totals: np.ndarray) -> None:
        g = grads[self.out]
        partials = self.op.local(*values[self.parents.T], values[self.out])
        stacked = np.zeros((len(partials), *g.shape))
        reached = g != 0.0  # as in eager backward, no gradient means nothing to pass on
        for i, partial in enumerate(partials):
            np.multiply(partial, g, out=stacked[i], where=reached)
        stacked = _finite(stacked, ZeroDivisionError, f"backward through {self.op.name}")
        stacked = stacked.reshape(-1, g.shape[1])
        if len(self.unique) == len(self.targets):
            grads[self.targets] += stacked
        else:
            grads[self.unique] += np.add.reduceat(stacked[self.order], self.starts, axis=0)


class _DenseGroup:
    """Neurons of one layer: `linear` nodes reading the same inputs, with leaf weights and biases.

    Their rule (dz/dw_i = x_i, dz/dx_i = w_i, dz/db = 1) evaluated over a batch is a pair of
    matrix products: z = W x + b forward; dx = Wᵀ g and dW = g xᵀ (already summed over the
    batch) backward.
    """

    def __init__(self, nodes: list[Value], row: dict[Value, int]) -> None:
        n = len(nodes[0].parents) // 2
        self.out = np.array([row[v] for v in nodes], dtype=np.intp)
        self.weights = np.array([[row[p] for p in v.parents[:n]] for v in nodes], dtype=np.intp)
        self.inputs = np.array([row[p] for p in nodes[0].parents[n : 2 * n]], dtype=np.intp)
        self.biases = np.array([row[v.parents[-1]] for v in nodes], dtype=np.intp)

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

    def forward(self, values: np.ndarray) -> None:
        z = values[self.weights, 0] @ values[self.inputs] + values[self.biases, :1]
        values[self.out] = _finite(z, OverflowError, "linear")

    def backward(self, values: np.ndarray, grads: np.ndarray, totals: np.ndarray) -> None:
        g = grads[self.out]
        grads[self.inputs] += values[self.weights, 0].T @ g
        np.add.at(totals, self.weights.ravel(), (g @ values[self.inputs].T).ravel())
        np.add.at(totals, self.biases, g.sum(axis=1))


def _finite(array: np.ndarray, error: type[ArithmeticError], where: str) -> np.ndarray:
    """`array`, or `error` naming the first row (the last axis) where it is not finite."""
    finite = np.isfinite(array)
    if not finite.all():
        sample = np.argwhere(~finite)[0][-1]
        problem = "result overflows a float" if error is OverflowError else "infinite derivative"
        raise error(f"{where}: {problem} at row {sample}")
    return array


class Tape:
    """A recorded scalar graph that evaluates and differentiates whole batches with numpy."""

    def __init__(self, roots: list[Value], inputs: list[Value], constants: set[Value]) -> None:
        order = list(dict.fromkeys(node for root in roots for node in topological_order(root)))
        row = {node: i for i, node in enumerate(order)}
        self.n_inputs = len(inputs)
        self.n_outputs = len(roots)
        self._size = len(order)
        self._roots = np.array([row[root] for root in roots], dtype=np.intp)
        self._input_rows = np.array([row.get(x, -1) for x in inputs])
        self._used_inputs = self._input_rows >= 0
        placeholders = set(inputs)
        leaves = [node for node in order if node.op is None and node not in placeholders]
        self.parameters: list[Value] = [leaf for leaf in leaves if leaf not in constants]
        self._parameter_rows = np.array([row[p] for p in self.parameters], dtype=np.intp)
        fixed = [leaf for leaf in leaves if leaf in constants]
        self._constant_rows = np.array([row[c] for c in fixed], dtype=np.intp)
        self._constant_data = np.array([c.data for c in fixed], dtype=float)
        self._groups = self._group(order, row, set(leaves))
        self._buffers: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._values: np.ndarray | None = None

    @staticmethod
    def _group(
        order: list[Value], row: dict[Value, int], leaves: set[Value]
    ) -> list[_Group | _DenseGroup]:
        """Nodes bucketed by level (1 + their parents' highest), op and arity, in level order.

        `linear` nodes are also bucketed by their inputs, so that a layer's neurons meet.
        """
        level = [0] * len(order)
        buckets: dict[tuple[Any, ...], list[Value]] = {}
        for i, node in enumerate(order):
            if node.op is None:
                continue
            level[i] = 1 + max(level[row[p]] for p in node.parents)
            key: tuple[Any, ...] = (level[i], node.op, len(node.parents))
            if node.op is ops.LINEAR:
                key += node.parents[len(node.parents) // 2 : -1]
            buckets.setdefault(key, []).append(node)
        groups: list[_Group | _DenseGroup] = []
        for key, nodes in sorted(buckets.items(), key=lambda item: item[0][0]):
            if key[1] is ops.LINEAR and _DenseGroup.fits(nodes, leaves):
                groups.append(_DenseGroup(nodes, row))
            else:
                groups.append(_Group(key[1], nodes, row))
        return groups

    def forward(self, X: Any, theta: Any = None, *, keep: bool = True) -> np.ndarray:
        """fn on every row of X (shape (B, n_inputs)): shape (B,), or (B, k) for k outputs.

        `theta`, a 1-d array in `parameters` order, gives the parameters' numbers in place of
        their Values' `.data` (a training loop can keep them in one vector). The batch's
        intermediate values are kept for `backward`; `keep=False` keeps nothing (prediction).
        """
        self._values = None
        X = self._check_batch(X)
        numbers = self._theta(theta, "Tape.forward: theta")
        values, _ = self._blocks(X.shape[0])
        values[self._input_rows[self._used_inputs]] = X.T[self._used_inputs]
        values[self._parameter_rows] = numbers[:, None]
        with np.errstate(all="ignore"):
            for group in self._groups:
                group.forward(values)
        if keep:
            self._values = values
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
        values = self._values
        _, grads = self._blocks(values.shape[1])
        grads.fill(0.0)
        np.add.at(grads, self._roots, 1.0)
        totals = np.zeros(len(values))  # batch sums, for the leaves of matrix-product layers
        with np.errstate(all="ignore"):
            for group in reversed(self._groups):
                group.backward(values, grads, totals)
            totals = totals[self._parameter_rows] + grads[self._parameter_rows].sum(axis=1)
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

    def _blocks(self, rows: int) -> tuple[np.ndarray, np.ndarray]:
        """The value and gradient blocks for a batch of `rows`, kept for the next batch of the
        same size: fresh blocks cost page faults that take longer than the arithmetic."""
        blocks = self._buffers.get(rows)
        if blocks is None:
            if len(self._buffers) >= _KEPT_SIZES:  # a full batch and a last, shorter one
                del self._buffers[next(iter(self._buffers))]
            values = np.empty((self._size, rows))
            values[self._constant_rows] = self._constant_data[:, None]
            blocks = self._buffers[rows] = (values, np.empty_like(values))
        return blocks

    def _theta(self, theta: Any, where: str) -> np.ndarray:
        """The parameters' numbers: `theta` checked, or the parameter Values' `.data`."""
        if theta is None:
            return np.array([p.data for p in self.parameters], dtype=float)
        numbers = real_array(theta, where, ndim=1)
        if numbers.shape != (len(self.parameters),):
            raise ValueError(
                f"{where} must have one number per parameter, {len(self.parameters)} "
                f"(got {numbers.shape[0]})"
            )
        return numbers

    def _check_batch(self, X: Any) -> np.ndarray:
        try:
            X = np.asarray(X, dtype=float)
        except (TypeError, ValueError) as error:
            raise TypeError(f"Tape.forward: X must be an array of numbers ({error})") from None
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise ValueError(f"Tape.forward: X must have shape (B, {self.n_inputs}), got {X.shape}")
        if X.shape[0] == 0:
            raise ValueError("Tape.forward: X must have at least one row, got 0")
        if not np.isfinite(X).all():
            sample = int(np.argwhere(~np.isfinite(X))[0][0])
            raise ValueError(f"Tape.forward: X must be finite, got a NaN or inf at row {sample}")
        return X


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
