"""Reverse mode: put the graph in order, then sweep it once, applying the chain rule.

`backward` is where gradients are made. `gradient_map` does the sweep: the root's gradient is 1,
and each node, taken after every node that uses it, passes its gradient on to its parents,
multiplied by the local derivative its op row gives. The sweep collects gradients in a dict of
its own and `backward` adds them to `.grad` only once the sweep has succeeded, so a backward that
fails (or is interrupted with Ctrl-C) changes nothing, and concurrent sweeps never undo each other.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from autodiff.checks import labelled

if TYPE_CHECKING:
    from autodiff.value import Value


def backward(root: Value, create_graph: bool = False) -> None:
    """Seed d(root)/d(root) = 1 and add d(root)/d(node) to `.grad` of every node root needs.

    Gradients accumulate across calls until reset, as in micrograd and PyTorch. With
    `create_graph`, the gradients are Values with graphs of their own, to differentiate again.
    """
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
    if not create_graph:
        for node, grad in grads.items():
            if not math.isfinite(grad):
                raise OverflowError(
                    f"backward: the gradient of {node.data!r}{labelled(node.label)} is not "
                    f"finite ({grad})"
                )
    return grads


def sweep_order(root: Value) -> list[Value]:
    """Root and every node it depends on, each after all the nodes that use it.

    First count each node's uses; then take a node once all of its users have been taken. No
    recursion, so graphs of any depth work.
    """
    uses = {root: 0}
    stack = [root]
    while stack:
        for parent in stack.pop().parents:
            if parent in uses:
                uses[parent] += 1
            else:
                uses[parent] = 1
                stack.append(parent)
    order: list[Value] = []
    ready = [root]
    while ready:
        node = ready.pop()
        order.append(node)
        for parent in node.parents:
            uses[parent] -= 1
            if uses[parent] == 0:
                ready.append(parent)
    return order


def topological_order(root: Value) -> list[Value]:
    """Every node root depends on, each after all of its parents; root last."""
    return sweep_order(root)[::-1]


def local_derivatives(node: Value, as_values: bool = False) -> tuple[Any, ...]:
    """d(node)/d(parent) for each differentiable parent, from the node's row in the op table.

    An op's fixed parameters (its last `consts` parents) get none, so zipping these with the
    parents stops before them. With `as_values`, the derivatives are Values built from the
    parents, for gradients of gradients; fixed parameters still enter as plain numbers.
    """
    op = node.op
    if op is None:
        return ()
    if not as_values:
        return op.local(*[p.data for p in node.parents], node.data)
    split = len(node.parents) - op.consts
    fixed = [p.data for p in node.parents[split:]]
    return op.local(*node.parents[:split], *fixed, node)
