"""Reverse-mode differentiation: a topological order, then one sweep of the chain rule."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autodiff.value import Value


def topological_order(root: Value) -> list[Value]:
    """Every node `root` depends on, each after all of its parents; `root` last.

    An explicit stack instead of recursion, so graphs of any depth work.
    """
    order: list[Value] = []
    seen: set[Value] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for parent in node.parents:
            if parent not in seen:
                stack.append((parent, False))
    return order


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


def _sweep(order: list[Value], create_graph: bool) -> None:
    """Apply the chain rule from the last node of `order` back to the first.

    Every `.grad` in `order` must start at zero but the seed's: each node's gradient is complete
    when it is reached, because all the nodes that use it come later in the order.
    """
    node = order[-1]
    try:
        for node in reversed(order):
            g = node.grad
            if node.op is None or g == 0.0:
                continue
            partials = local_derivatives(node, create_graph)
            # an op's fixed parameters (consts) come last and get no partial: zip stops before
            for parent, partial in zip(node.parents, partials, strict=False):
                parent.grad += partial * g
    except (ArithmeticError, ValueError) as error:
        label = f" (label {node.label!r})" if node.label else ""
        raise type(error)(f"backward through {node.op.name}{label}: {error}") from error


def backward(root: Value, create_graph: bool = False) -> None:
    """Seed root.grad = 1 and add d(root)/d(node) to `.grad` of every node root depends on.

    Gradients from earlier calls are set aside during the sweep and added back after it, so
    each node's new gradient is exactly the sum over paths, then accumulated as in PyTorch.
    """
    order = topological_order(root)
    earlier = [(node, node.grad) for node in order if node.grad != 0.0]
    for node, _ in earlier:
        node.grad = 0.0
    root.grad = Value(1.0) if create_graph else 1.0
    _sweep(order, create_graph)
    for node, grad in earlier:
        node.grad = grad + node.grad


def gradients(root: Value, wrt: Sequence[Value], create_graph: bool = False) -> list[Any]:
    """d(root)/d(w) for each w in `wrt`, leaving every `.grad` in the graph as it was."""
    order = topological_order(root)
    saved = [node.grad for node in order]
    try:
        for node in order:
            node.grad = 0.0
        root.grad = Value(1.0) if create_graph else 1.0
        _sweep(order, create_graph)
        in_graph = set(order)
        zero = Value(0.0) if create_graph else 0.0
        return [w.grad if w in in_graph else zero for w in wrt]
    finally:
        for node, grad in zip(order, saved, strict=True):
            node.grad = grad
