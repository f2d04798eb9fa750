"""A pass over a traced graph that finds the dense layers in graphs written micrograd's way.

A neuron written `sum((w * x for w, x in zip(ws, xs)), b)` records a chain of binary additions
over products of weights and inputs. Replayed node by node it costs one numpy call per level of
the chain; seen as what it is, `b + Σ w_i x_i`, a layer of such neurons is one matrix product.
The pass rewrites the tape's own copy of the graph and leaves the recorded nodes untouched:

- a chain of additions, each used only by the next one as its first term, becomes one n-ary sum
  whose terms are added in the same order, so the sum is the same number;
- a sum whose terms are products of a leaf (a parameter or constant) and another node, plus at
  most one leaf (the bias), becomes a `linear` node, which the tape groups into a layer when
  neurons share their inputs.

Nodes the pass does not change are kept as they are; a node whose parents changed is copied
with the new parents. A product used elsewhere too stays in the graph for those users.
"""

from __future__ import annotations

from autodiff import ops
from autodiff.backward import topological_order
from autodiff.value import Value, make_node

_SUMS = (ops.ADD, ops.SUM)


def order_of(roots: list[Value]) -> list[Value]:
    """Every node the roots depend on, each after its parents: one walk for all the roots.

    A walk per root would visit what they share (a model's whole body) once per root.
    """
    if len(roots) == 1:
        return topological_order(roots[0])
    joint = make_node(None, tuple(roots), None)  # a node above them all, dropped from the order
    return topological_order(joint)[:-1]


def fuse(
    roots: list[Value], inputs: list[Value], constants: set[Value], order: list[Value]
) -> tuple[list[Value], set[Value], list[Value]]:
    """The roots of the rewritten graph, the constants it adds (a zero bias), and its order.

    `inputs` are the placeholders of the traced function's inputs, `constants` the leaves it
    made from plain numbers, every other leaf is a parameter; `order` is `order_of(roots)`.
    The rewritten graph's order comes from the same walk, so that the tape need not sort again.
    """
    known = {node for node in order if node.op is None}.difference(inputs)
    uses = dict.fromkeys(order, 0)
    for root in roots:
        uses[root] += 1  # an output is used by whoever reads the tape
    for node in order:
        for parent in node.parents:
            uses[parent] += 1
    # a sum used once, as the first term of another sum, is folded into it
    folded = {
        node.parents[0]
        for node in order
        if node.op in _SUMS and node.parents[0].op in _SUMS and uses[node.parents[0]] == 1
    }
    zero = make_node(0.0, (), None)
    rewritten: dict[Value, Value] = {}
    pending: dict[Value, list[Value]] = {}  # terms of folded sums, taken over by their user
    new_order = [zero]
    for node in order:
        if node.op is None:
            new_order.append(node)
            continue
        parents = [rewritten.get(p, p) for p in node.parents]
        if node.op in _SUMS:
            first = node.parents[0]
            terms = parents
            if first in pending:  # extended in place: a chain of n additions costs O(n)
                terms = pending.pop(first)
                terms.extend(parents[1:])
            if node in folded:
                pending[node] = terms
                continue
            rewritten[node] = _sum_node(node, terms, known, constants, zero)
        elif any(new is not old for new, old in zip(parents, node.parents, strict=True)):
            rewritten[node] = make_node(node.data, tuple(parents), node.op)
        new_order.append(rewritten.get(node, node))
    new_roots = [rewritten.get(root, root) for root in roots]
    return new_roots, {zero}, _needed(new_order, new_roots)


def _needed(order: list[Value], roots: list[Value]) -> list[Value]:
    """The nodes of `order` that the roots still depend on (a product taken into a `linear`
    node may be used by nothing else), in the same order."""
    live = set(roots)
    for node in reversed(order):
        if node in live:
            live.update(node.parents)
    return [node for node in order if node in live]


def _sum_node(
    node: Value, terms: list[Value], known: set[Value], constants: set[Value], zero: Value
) -> Value:
    """The sum of `terms` as a `linear` node where it is one, else as one n-ary sum."""
    layer = _linear_terms(terms, known, constants)
    if layer is not None:
        weights, inputs, bias = layer
        parents = (*weights, *inputs, zero if bias is None else bias)
        return make_node(node.data, parents, ops.LINEAR)
    if len(terms) == len(node.parents) and all(
        new is old for new, old in zip(terms, node.parents, strict=True)
    ):
        return node
    return make_node(node.data, tuple(terms), ops.SUM if len(terms) > 2 else ops.ADD)


def _linear_terms(
    terms: list[Value], known: set[Value], constants: set[Value]
) -> tuple[list[Value], list[Value], Value | None] | None:
    """(weights, inputs, bias) when the terms are leaf-times-node products and at most one leaf.

    `known` are the leaves whose numbers are known while tracing: parameters and constants.

    A constant 0 among the terms (Python's `sum` starts from 0) adds nothing and is dropped.
    """
    weights: list[Value] = []
    inputs: list[Value] = []
    bias = None
    for term in terms:
        if term in known:
            if term in constants and term.data == 0.0:
                continue
            if bias is not None:
                return None
            bias = term
        elif term.op is ops.MUL and term.parents[0] in known:
            weights.append(term.parents[0])
            inputs.append(term.parents[1])
        elif term.op is ops.MUL and term.parents[1] in known:
            weights.append(term.parents[1])
            inputs.append(term.parents[0])
        else:
            return None
    return (weights, inputs, bias) if weights else None
