"""Reverse mode: one sweep over the graph, root first, applying the chain rule at each node.

The sweep collects gradients in a dict of its own; `backward` adds them to `.grad` once it has
succeeded, so a backward that fails (or is stopped with Ctrl-C) changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
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
        for node in sweep_order(root):
            grad = grads.get(node, 0.0)  # complete: every user of node has passed its share
            if node.op is None or (not create_graph and grad == 0.0):
                continue
            if not create_graph and not math.isfinite(grad):
                raise OverflowError("the gradient reaching this node is not finite")
            locals_ = local_derivatives(node, create_graph)
            for parent, local in zip(node.parents, locals_, strict=False):
                grads[parent] = grads.get(parent, 0.0) + local * grad  # the chain rule
    except (ArithmeticError, ValueError) as error:
        where = f"backward through {node.op.name if node.op else 'a leaf'}{labelled(node.label)}"
        raise type(error)(f"{where}: {str(error).removeprefix(f'{node.op}: ')}") from error
    for node, grad in grads.items() if not create_graph else ():
        if not math.isfinite(grad):
            raise OverflowError(
                f"backward: the gradient of {node.data!r}{labelled(node.label)} "
                f"is not finite ({grad})"
            )
    return grads


def sweep_order(root: Value) -> Iterator[Value]:
    """Root and every node it depends on, each after all the nodes that use it: count each
    node's uses, then take a node once its users are taken (no recursion: any depth works)."""
    uses = {root: 0}
    stack = [root]
    while stack:
        for parent in stack.pop().parents:
            if parent in uses:
                uses[parent] += 1
            else:
                uses[parent] = 1
                stack.append(parent)
    ready = [root]
    while ready:
        node = ready.pop()
        yield node
        for parent in node.parents:
            uses[parent] -= 1
            if uses[parent] == 0:
                ready.append(parent)


def topological_order(root: Value) -> list[Value]:
    """Every node root depends on, each after all of its parents; root last."""
    return list(sweep_order(root))[::-1]
