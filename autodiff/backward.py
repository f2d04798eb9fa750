"""Reverse-mode differentiation: a topological order, then one sweep of the chain rule."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from autodiff.value import Value, labelled


def _walk(root: Value) -> tuple[list[Value], list[Value]]:
    """The leaves `root` depends on, and the op nodes in an order where parents come first.

    An explicit stack instead of recursion, so graphs of any depth work. A node is listed after
    its parents: it is pushed back, marked done, before them. Leaves have no parents and are
    listed as soon as they are met.
    """
    if not root.parents:
        return [root], []
    leaves: list[Value] = []
    interior: list[Value] = []
    seen: set[Value] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            interior.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for parent in node.parents:
            if parent not in seen:
                if parent.parents:
                    stack.append((parent, False))
                else:
                    seen.add(parent)
                    leaves.append(parent)
    return leaves, interior


def topological_order(root: Value) -> list[Value]:
    """Every node `root` depends on, each after all of its parents (leaves first); `root` last."""
    leaves, interior = _walk(root)
    return leaves + interior


def local_derivatives(node: Value, as_values: bool = False) -> tuple[Any, ...]:
    """d(node)/d(parent) for each differentiable parent, from the node's row in the op table.

    With `as_values`, the derivatives are Values built from the parents (for gradients of
    gradients); an op's fixed parameters (`consts`) still enter as plain numbers.
    """
    op = node.op
    if op is None:
        return ()
    parents = node.parents
    if not as_values:
        return op.local(*[p.data for p in parents], node.data)
    split = len(parents) - op.consts
    fixed = [p.data for p in parents[split:]]
    return op.local(*parents[:split], *fixed, node)


def _sweep(root: Value, interior: list[Value], create_graph: bool) -> None:
    """Seed root.grad = 1 and apply the chain rule from the end of `interior` back to its start.

    Every `.grad` in `interior` must start at zero: each node's gradient is complete when it is
    reached, because all the nodes that use it come later in the order.
    """
    root.grad = Value(1.0) if create_graph else 1.0
    node = root
    try:
        for node in reversed(interior):
            g = node.grad
            if g == 0.0:
                continue
            if not create_graph and g - g != 0.0:
                raise OverflowError("the gradient reaching this node is not finite")
            partials = local_derivatives(node, create_graph)
            # an op's fixed parameters (consts) come last and get no partial: zip stops before
            for parent, partial in zip(node.parents, partials, strict=False):
                parent.grad += partial * g
    except (ArithmeticError, ValueError) as error:
        name = node.op.name if node.op is not None else "a leaf"
        reason = str(error).removeprefix(f"{name}: ")
        where = f"backward through {name}{labelled(node.label)}"
        raise type(error)(f"{where}: {reason}") from error


def _check_finite(leaves: list[Value]) -> None:
    for leaf in leaves:
        grad = leaf.grad
        if not isinstance(grad, Value) and grad - grad != 0.0:
            raise OverflowError(
                f"backward: the gradient of the leaf {leaf.data!r}{labelled(leaf.label)} "
                f"is not finite ({grad})"
            )


def backward(root: Value, create_graph: bool = False) -> None:
    """Seed root.grad = 1 and add d(root)/d(node) to `.grad` of every node root depends on.

    Leaves accumulate directly. Interior nodes pass on what reaches them, so their gradients
    from earlier calls are set aside during the sweep and added back after it: each node gets
    exactly its new sum over paths on top of what it had, as in PyTorch. If the sweep fails,
    every grad is put back as it was.
    """
    with collector_paused():
        _backward(root, create_graph)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector inside the block (backward always does).

    Graphs hold no reference cycles, so the collector finds nothing in them; yet as a graph
    grows, each of its full collections walks the whole graph again: about half the time of
    building a chain of 10^5 ops. Wrap the building of a very large graph in this to save that.
    The pause is process-wide: other threads' cyclic garbage waits for the block to end.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _backward(root: Value, create_graph: bool) -> None:
    leaves, interior = _walk(root)
    before = [leaf.grad for leaf in leaves]
    earlier = [(node, node.grad) for node in interior if node.grad != 0.0]
    for node, _ in earlier:
        node.grad = 0.0
    try:
        _sweep(root, interior, create_graph)
        if interior:
            _check_finite(leaves)
    except Exception:
        for leaf, grad in zip(leaves, before, strict=True):
            leaf.grad = grad
        for node in interior:
            node.grad = 0.0
        for node, grad in earlier:
            node.grad = grad
        raise
    if not interior:  # root is a leaf: the seed accumulates like any gradient
        root.grad = before[0] + root.grad
    for node, grad in earlier:
        node.grad = grad + node.grad


def gradients(root: Value, wrt: Sequence[Value], create_graph: bool = False) -> list[Any]:
    """d(root)/d(w) for each w in `wrt`, leaving every `.grad` in the graph as it was."""
    leaves, interior = _walk(root)
    order = leaves + interior
    saved = [node.grad for node in order]
    try:
        for node in order:
            node.grad = 0.0
        _sweep(root, interior, create_graph)
        _check_finite(leaves)
        in_graph = set(order)
        zero = Value(0.0) if create_graph else 0.0
        return [w.grad if w in in_graph else zero for w in wrt]
    finally:
        for node, grad in zip(order, saved, strict=True):
            node.grad = grad
