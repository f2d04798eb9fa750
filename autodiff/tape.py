"""Record a scalar graph once, then replay it over whole numpy batches.

`trace(fn, n_inputs)` runs `fn` on placeholder inputs whose numbers are unknown, so the graph
it records is the same for every row. `Tape.forward(X)` evaluates that graph for all B rows at
once, level by level: nodes whose inputs are all computed are grouped by op, and each group is
one numpy call on a (nodes, B) block. `Tape.backward()` walks the levels in reverse with the same
local-derivative rules the eager engine uses, and adds the batch's gradients into the
parameters' `.grad`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from autodiff.backward import topological_order
from autodiff.ops import Op
from autodiff.value import MODE, TRACED, Value, _node


class _Recorder:
    """The recording mode of `trace`: remembers the leaves `fn` creates (its constants)."""

    def __init__(self) -> None:
        self.constants: list[Value] = []

    def created(self, value: Value) -> None:
        """Called by Value() for every leaf made while recording."""
        self.constants.append(value)


@dataclass
class _Group:
    """Nodes of one level that share an op and arity: one numpy call computes them all."""

    op: Op
    out: np.ndarray  # (k,) rows of the results
    parents: np.ndarray  # (k, arity) rows of the inputs
    targets: np.ndarray  # rows receiving gradient, sorted, unique
    order: np.ndarray  # permutation that sorts the stacked contributions by target row
    starts: np.ndarray  # where each target's run begins in the sorted contributions
    labels: list[str]  # each node's parents' labels, for error messages


class Tape:
    """A recorded scalar graph that evaluates and differentiates whole batches with numpy."""

    def __init__(self, root: Value, inputs: list[Value], constants: set[Value]) -> None:
        order = topological_order(root)
        row = {node: i for i, node in enumerate(order)}
        self.n_inputs = len(inputs)
        self._size = len(order)
        self._root = row[root]
        self._input_rows = np.array([row.get(x, -1) for x in inputs])
        leaves = [node for node in order if node.op is None and node not in set(inputs)]
        self.parameters: list[Value] = [leaf for leaf in leaves if leaf not in constants]
        self._parameter_rows = np.array([row[p] for p in self.parameters], dtype=np.intp)
        fixed = [leaf for leaf in leaves if leaf in constants]
        self._constant_rows = np.array([row[c] for c in fixed], dtype=np.intp)
        self._constant_data = np.array([c.data for c in fixed], dtype=float)
        self._groups = self._group(order, row)
        self._values: np.ndarray | None = None

    @staticmethod
    def _group(order: list[Value], row: dict[Value, int]) -> list[_Group]:
        level = [0] * len(order)
        buckets: dict[tuple[int, Op, int], list[Value]] = {}
        for i, node in enumerate(order):
            if node.op is None:
                continue
            level[i] = 1 + max(level[row[p]] for p in node.parents)
            buckets.setdefault((level[i], node.op, len(node.parents)), []).append(node)
        groups = []
        for (_, op, arity), nodes in sorted(buckets.items(), key=lambda item: item[0][0]):
            out = np.array([row[n] for n in nodes], dtype=np.intp)
            parents = np.array([[row[p] for p in n.parents] for n in nodes], dtype=np.intp)
            differentiable = parents[:, : arity - op.consts]
            stacked = differentiable.T.ravel()  # contributions are stacked input by input
            order_ = np.argsort(stacked, kind="stable")
            targets, starts = np.unique(stacked[order_], return_index=True)
            labels = [[p.label for p in n.parents] for n in nodes]
            groups.append(_Group(op, out, parents, targets, order_, starts, labels))
        return groups

    def forward(self, X: Any) -> np.ndarray:
        """fn evaluated on every row of X (shape (B, n_inputs)): an array of shape (B,)."""
        X = self._check_batch(X)
        batch = X.shape[0]
        values = np.empty((self._size, batch))
        used = self._input_rows >= 0
        values[self._input_rows[used]] = X.T[used]
        values[self._parameter_rows] = np.array([p.data for p in self.parameters])[:, None]
        values[self._constant_rows] = self._constant_data[:, None]
        with np.errstate(all="ignore"):
            for group in self._groups:
                args = _gather(values, group)
                for rule in group.op.domain:
                    bad = np.broadcast_to(rule.bad(*args), args[0].shape)
                    if bad.any():
                        node, sample = np.argwhere(bad)[0]
                        label = group.labels[node][rule.arg]
                        raise rule.error(
                            f"{group.op.name}: expected {rule.expected}, got "
                            f"{float(args[rule.arg][node, sample])!r}"
                            + (f" (label {label!r})" if label else "")
                            + f" at row {sample}"
                        )
                out = group.op.vfn(*args)
                finite = np.isfinite(out)
                if not finite.all():
                    node, sample = np.argwhere(~finite)[0]
                    raise OverflowError(
                        f"{group.op.name}: result overflows a float at row {sample}"
                    )
                values[group.out] = out
        self._values = values
        return values[self._root].copy()

    def backward(self, reduction: str = "mean") -> None:
        """Add the batch's mean (or sum) of d(output)/d(parameter) to each parameter's .grad."""
        if reduction not in ("mean", "sum"):
            raise ValueError(f"Tape.backward: reduction must be 'mean' or 'sum', got {reduction!r}")
        if self._values is None:
            raise RuntimeError("Tape.backward: call forward(X) first")
        values = self._values
        batch = values.shape[1]
        grads = np.zeros_like(values)
        grads[self._root] = 1.0
        with np.errstate(all="ignore"):
            for group in reversed(self._groups):
                g = grads[group.out]
                partials = group.op.local(*_gather(values, group), values[group.out])
                stacked = np.empty((len(partials), *g.shape))
                for i, partial in enumerate(partials):
                    np.multiply(partial, g, out=stacked[i])
                stacked = stacked.reshape(-1, g.shape[1])
                if not np.isfinite(stacked).all():
                    sample = np.argwhere(~np.isfinite(stacked))[0][1]
                    raise ZeroDivisionError(
                        f"backward through {group.op.name}: infinite derivative at row {sample}"
                    )
                grads[group.targets] += np.add.reduceat(stacked[group.order], group.starts, axis=0)
        totals = grads[self._parameter_rows].sum(axis=1)
        if reduction == "mean":
            totals /= batch
        for parameter, total in zip(self.parameters, totals.tolist(), strict=True):
            parameter.grad += total

    def _check_batch(self, X: Any) -> np.ndarray:
        try:
            X = np.asarray(X, dtype=float)
        except (TypeError, ValueError) as error:
            raise TypeError(f"Tape.forward: X must be an array of numbers ({error})") from None
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise ValueError(f"Tape.forward: X must have shape (B, {self.n_inputs}), got {X.shape}")
        if not np.isfinite(X).all():
            sample = int(np.argwhere(~np.isfinite(X))[0][0])
            raise ValueError(f"Tape.forward: X must be finite, got a NaN or inf at row {sample}")
        return X


def _gather(values: np.ndarray, group: _Group) -> list[np.ndarray]:
    """The group's inputs, one (k, B) view per argument position, from a single fancy index."""
    block = values[group.parents.T]
    return list(block)


def trace(fn: Callable[..., Value], n_inputs: int) -> Tape:
    """Record fn(*xs) for `n_inputs` input Values once, as a Tape to replay over batches.

    Leaf Values that existed before the call (a model's weights) become the tape's parameters;
    Values that fn makes from plain numbers are constants. fn must not look at its inputs'
    numbers (`.data`): it would branch the same way for every row, so this raises TypeError.
    """
    if not isinstance(n_inputs, int) or isinstance(n_inputs, bool) or n_inputs < 1:
        raise ValueError(f"trace: n_inputs must be a positive int, got {n_inputs!r}")
    recorder = _Recorder()
    inputs = [_node(TRACED, (), None) for _ in range(n_inputs)]
    for i, x in enumerate(inputs):
        x.label = f"x{i}"
    token = MODE.set(recorder)
    try:
        out = fn(*inputs)
    finally:
        MODE.reset(token)
    if not isinstance(out, Value):
        raise TypeError(f"trace: fn must return a Value, got {type(out).__name__} {out!r}")
    return Tape(out, inputs, set(recorder.constants))
