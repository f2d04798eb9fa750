"""Reverse mode: one sweep over the graph, root first, applying the chain rule at each node.

The sweep collects gradients in a dict of its own; `backward` adds them to `.grad` once it has
succeeded, so a backward that fails (or is stopped with Ctrl-C) changes nothing.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from autodiff.checks import labelled
from autodiff.op import local_derivatives

if TYPE_CHECKING:
    from autodiff.value import Value


def backward(root: Value, create_graph: bool = False) -> None:
    """Add d(root)/d(node) to `.grad` of root and every node it needs (accumulating, as in
    PyTorch); with `create_graph` the gradients are Values, to differentiate again."""
    for node, grad in gradient_map(root, create_graph).items():
        node.grad += grad


def gradient_map(root: Value, create_graph: bool = False) -> dict[Value, Any]:
    """d(root)/d(node) for every node that root depends on (and root), touching no `.grad`."""
    grads: dict[Value, Any] = {root: type(root)(1.0) if create_graph else 1.0}
    node = root
    try:
        for node in reversed(topological_order(root)):
            grad = grads.get(node, 0.0)  # complete: every node using it came earlier
            if not create_graph and not math.isfinite(grad):
                raise OverflowError(f"the gradient reaching {node.data!r} is not finite ({grad})")
            if node.op is None or (not create_graph and grad == 0.0):
                continue
            locals_ = local_derivatives(node, create_graph)
            for parent, local in zip(node.parents, locals_, strict=False):
                grads[parent] = grads.get(parent, 0.0) + local * grad  # the chain rule
    except (ArithmeticError, ValueError) as error:
        where = f"backward through {node.op.name}" if node.op else "backward at a leaf"
        where += labelled(node.label)
        raise type(error)(f"{where}: {str(error).removeprefix(f'{node.op}: ')}") from error
    return grads


def topological_order(root: Value) -> list[Value]:
    """Every node root depends on, each after all of its parents; root last.

    A depth-first walk on a stack, not recursion, so any depth works: a node comes off once to
    push its parents above it, and again, after them, to be listed. Two stacks in step (the node;
    are its parents pushed?), not a tuple per entry, which on a deep graph would live long
    enough to make Python's cyclic collector walk the whole graph again and again.
    """
    order: list[Value] = []
    seen: set[Value] = set()
    nodes, pushed = [root], [False]
    while nodes:
        node = nodes.pop()
        if pushed.pop():
            order.append(node)
        elif node not in seen:
            seen.add(node)
            nodes.append(node)
            pushed.append(True)
            for parent in reversed(node.parents):  # the first parent is walked first
                if parent in seen:
                    continue
                if parent.parents:
                    nodes.append(parent)
                    pushed.append(False)
                else:  # a leaf waits for nothing: list it at once
                    seen.add(parent)
                    order.append(parent)
    return order
