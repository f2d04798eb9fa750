"""The micrograd lecture's neuron, backpropagated as the lecture writes it, with its numbers.

The expected numbers are closed forms written here: o = tanh(n), do/dn = 1 - o², and the
derivatives of sums and products, evaluated with `math`.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from autodiff import Value

README = Path(__file__).resolve().parents[2] / "README.md"
X1, X2, W1, W2, B = 2.0, 0.0, -3.0, 1.0, 6.8813735870195432


def lecture_neuron() -> dict[str, Value]:
    """The lecture's cell, labels included."""
    x1 = Value(X1, label="x1")
    x2 = Value(X2, label="x2")
    w1 = Value(W1, label="w1")
    w2 = Value(W2, label="w2")
    b = Value(B, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return {v.label: v for v in (x1, x2, w1, w2, b, x1w1, x2w2, x1w1x2w2, n, o)}


def closed_forms() -> dict[str, float]:
    """d o / d node for every node of the neuron, from the rules of calculus."""
    o = math.tanh(X1 * W1 + X2 * W2 + B)
    dn = 1 - o**2  # tanh' = 1 - tanh²
    return {
        "o": 1.0,
        "n": dn,
        "b": dn,  # n = s + b
        "x1*w1 + x2*w2": dn,
        "x1*w1": dn,  # s = p1 + p2
        "x2*w2": dn,
        "x1": dn * W1,  # p1 = x1 w1
        "w1": dn * X1,
        "x2": dn * W2,
        "w2": dn * X2,
    }


def test_the_lecture_numbers_follow_from_the_closed_forms():
    """The lecture's printed numbers, checked against the formulas rather than the engine."""
    grads = closed_forms()
    assert math.tanh(X1 * W1 + X2 * W2 + B) == pytest.approx(math.sqrt(0.5), abs=1e-12)
    expected = {"n": 0.5, "x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0}
    assert {k: grads[k] for k in expected} == pytest.approx(expected, abs=1e-12)


def test_manual_backward_calls_as_in_the_lecture_give_its_gradients():
    v = lecture_neuron()
    o, n, b = v["o"], v["n"], v["b"]
    x1w1x2w2, x2w2, x1w1 = v["x1*w1 + x2*w2"], v["x2*w2"], v["x1*w1"]
    o.grad = 1.0
    o._backward()
    n._backward()
    b._backward()  # a leaf: a no-op, as in the lecture
    x1w1x2w2._backward()
    x2w2._backward()
    x1w1._backward()
    assert o.data == pytest.approx(math.tanh(X1 * W1 + X2 * W2 + B), abs=1e-15)
    assert round(o.data, 4) == 0.7071
    expected = closed_forms()
    assert {k: node.grad for k, node in v.items()} == pytest.approx(expected, abs=1e-12)


def test_each_backward_call_adds_only_its_own_step():
    v = lecture_neuron()
    o, n = v["o"], v["n"]
    o.grad = 1.0
    o._backward()
    dn = closed_forms()["n"]
    assert n.grad == pytest.approx(dn, abs=1e-12)
    assert v["x1*w1 + x2*w2"].grad == 0.0 and v["b"].grad == 0.0  # n has not passed it on yet
    o._backward()  # called again, it adds again: grads accumulate
    assert n.grad == pytest.approx(2 * dn, abs=1e-12)


def test_the_lectures_recursive_topological_sort_runs_on_prev():
    v = lecture_neuron()
    o = v["o"]
    topo: list[Value] = []
    visited: set[Value] = set()

    def build_topo(node: Value) -> None:  # the lecture's own code, recursion and all
        if node not in visited:
            visited.add(node)
            for child in node._prev:
                build_topo(child)
            topo.append(node)

    build_topo(o)
    assert len(topo) == 10 and topo[-1] is o
    position = {node: i for i, node in enumerate(topo)}
    assert all(position[p] < position[node] for node in topo for p in node._prev)
    o.grad = 1.0
    for node in reversed(topo):
        node._backward()
    assert {k: node.grad for k, node in v.items()} == pytest.approx(closed_forms(), abs=1e-12)


def test_backward_gives_what_the_manual_calls_give():
    v = lecture_neuron()
    v["o"].backward()
    assert {k: node.grad for k, node in v.items()} == pytest.approx(closed_forms(), abs=1e-12)


def test_prev_and_op_read_as_in_micrograd():
    v = lecture_neuron()
    assert v["o"]._prev == {v["n"]}
    assert v["n"]._prev == {v["x1*w1 + x2*w2"], v["b"]}
    assert (v["o"]._op, v["n"]._op, v["x1*w1"]._op, v["x1"]._op) == ("tanh", "+", "*", "")
    a = Value(3.0)
    square = a * a
    assert square._prev == {a} and square.parents == (a, a)  # the set loses the duplicate


def test_micrograds_value_constructor_points_to_a_readme_section_that_exists():
    x = Value(1.0)
    with pytest.raises(TypeError, match=r"Value\(data, _children, _op\) is micrograd's form"):
        Value(2.0, (x,), "+")
    with pytest.raises(TypeError) as error:
        Value(2.0, (x,))
    name = re.search(r"see '([^']+)' in the README", str(error.value)).group(1)
    assert name == "Coming from micrograd"
    assert f"## {name}" in README.read_text(encoding="utf-8").splitlines()
