"""backward_steps: grads against a real backward and closed forms, order, tables, no mutation."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

import nn
import viz
from autodiff import Value, gradients, topological_order
from viz import backward_steps
from viz.steps import BackwardSteps, Step

Build = Callable[[], Value]


def closed_form() -> Value:
    a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c")
    L = (a * b + c) ** 2
    L.label = "L"
    return L


def fan_out() -> Value:
    """x reaches the root along three paths, and a*a uses one parent twice."""
    x, y = Value(0.7, label="x"), Value(-1.3, label="y")
    a = x * y
    a.label = "a"
    out = (a * a + x.tanh() * x).sigmoid() + a.exp()
    out.label = "out"
    return out


def three_layers(seed: int) -> Callable[[], Value]:
    def build() -> Value:
        model = nn.MLP(3, [4, 3, 2], activation="tanh", output_activation="sigmoid", seed=seed)
        outputs = model([0.5, -1.2, 0.3])
        assert isinstance(outputs, list)
        loss = nn.half_sse(outputs, [1.0, 0.0])
        loss.label = "L"
        return loss

    return build


BUILDS: list[Build] = [closed_form, fan_out, three_layers(0), three_layers(7)]


def by_position(root: Value) -> dict[Value, int]:
    return {node: i for i, node in enumerate(topological_order(root))}


@pytest.mark.parametrize("build", BUILDS)
def test_each_step_holds_the_gradient_a_real_backward_gives(build: Build) -> None:
    root, copy = build(), build()  # the same graph twice: one for the steps, one for backward
    copy.backward()
    reference = topological_order(copy)
    position = by_position(root)
    steps = backward_steps(root)
    assert steps
    for step in steps:
        assert step.grad == pytest.approx(reference[position[step.node]].grad, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("build", BUILDS)
def test_contributions_into_each_node_sum_to_its_gradient(build: Build) -> None:
    root = build()
    steps = backward_steps(root)
    received: dict[Value, float] = {}
    for step in steps:
        for parent, local, amount in step.contributions:
            assert amount == pytest.approx(local * step.grad, rel=1e-12, abs=1e-15)
            received[parent] = received.get(parent, 0.0) + amount
    order = topological_order(root)
    expected = dict(zip(order, gradients(root, order), strict=True))
    for step in steps:
        if step.node is not root:
            assert received[step.node] == pytest.approx(step.grad, rel=1e-12, abs=1e-15)
    for node, total in received.items():
        assert total == pytest.approx(expected[node], rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("build", BUILDS)
def test_steps_come_in_a_reverse_topological_order_root_first(build: Build) -> None:
    root = build()
    steps = backward_steps(root)
    assert steps[0].node is root
    seen = [step.node for step in steps]
    assert len(seen) == len(set(seen))  # each node once
    place = {node: i for i, node in enumerate(seen)}
    for node in seen:
        for parent in node.parents:
            if parent in place:
                assert place[node] < place[parent], (node.label, parent.label)
    # a node comes only after every listed node that uses it, so its gradient is complete
    for step in steps:
        for parent, *_ in step.contributions:
            if parent in place:
                assert place[parent] > place[step.node]


@pytest.mark.parametrize("build", BUILDS)
def test_without_leaves_the_steps_are_the_op_nodes_in_reversed_topological_order(
    build: Build,
) -> None:
    root = build()
    steps = backward_steps(root, leaves=False)
    expected = [node for node in reversed(topological_order(root)) if node.op is not None]
    assert [step.node for step in steps] == expected


def test_named_leaves_are_listed_and_constants_are_not() -> None:
    x = Value(3.0, label="x")
    y = 2.0 * x + 1.0  # the constants 2 and 1 are unlabelled leaves
    steps = backward_steps(y)
    leaves = [step.node for step in steps if step.node.op is None]
    assert leaves == [x]
    assert steps[-1].grad == pytest.approx(2.0)
    assert steps[-1].contributions == ()


@pytest.mark.parametrize("build", BUILDS)
def test_no_grad_in_the_graph_changes(build: Build) -> None:
    root = build()
    order = topological_order(root)
    rng = np.random.default_rng(1)
    before = [float(g) for g in rng.normal(size=len(order))]
    for node, grad in zip(order, before, strict=True):
        node.grad = grad
    backward_steps(root)
    assert [node.grad for node in order] == before


def test_closed_form_of_a_squared_affine_expression() -> None:
    L = closed_form()
    a, b, c = (next(v for v in topological_order(L) if v.label == name) for name in "abc")
    u = a.data * b.data + c.data  # 4
    # L = u², u = a*b + c: dL/du = 2u, dL/da = 2u·b, dL/db = 2u·a, dL/dc = 2u
    steps = backward_steps(L)
    grads = {step.name: step.grad for step in steps}
    assert steps[0].node is L
    assert grads["L"] == 1.0
    assert grads["a"] == pytest.approx(2 * u * b.data)  # -24
    assert grads["b"] == pytest.approx(2 * u * a.data)  # 16
    assert grads["c"] == pytest.approx(2 * u)  # 8
    first = steps[0]
    assert len(first.contributions) == 1  # the exponent 2 is a fixed parameter: no contribution
    (parent, local, amount) = first.contributions[0]
    assert parent.data == pytest.approx(u)
    assert local == pytest.approx(2 * u)
    assert amount == pytest.approx(2 * u)


def test_a_parent_used_twice_gets_two_contributions() -> None:
    x = Value(3.0, label="x")
    y = x * x
    step = backward_steps(y)[0]
    assert [c.parent for c in step.contributions] == [x, x]
    assert sum(c.amount for c in step.contributions) == pytest.approx(2 * 3.0)


def test_a_leaf_root_is_one_step_with_gradient_one() -> None:
    x = Value(5.0, label="x")
    steps = backward_steps(x)
    assert [(s.node, s.grad, s.contributions) for s in steps] == [(x, 1.0, ())]


def test_a_node_with_zero_gradient_passes_zero_even_where_its_local_derivative_is_huge() -> None:
    x = Value(0.0, label="x")
    y = Value(2.0, label="y")
    out = (x * (y**0.5)) * 0.0
    for step in backward_steps(out):
        for _, _, amount in step.contributions:
            assert amount == 0.0 and not math.isnan(amount)


def test_the_text_table_names_nodes_and_shows_the_numbers() -> None:
    text = str(backward_steps(closed_form()))
    lines = text.splitlines()
    assert lines[0].startswith("Backward sweep of L: 6 steps")
    assert lines[1].split() == ["step", "node", "grad", "to", "parent", "local", "amount"]
    row = next(line for line in lines if line.split()[:1] == ["4"])
    # step 4 is a*b: grad 2u = 8, it passes b·8 = -24 to a
    assert row.split()[2:] == ["8", "a", "-3", "-24"]
    assert any(line.split() == ["5", "a", "-24", "(leaf)"] for line in lines)


def test_the_markdown_table_has_a_row_per_contribution_and_a_header() -> None:
    steps = backward_steps(closed_form())
    md = steps.markdown()
    assert steps._repr_markdown_() == md
    rows = [line for line in md.splitlines() if line.startswith("|")]
    assert rows[0] == "| step | node | grad | to parent | local | amount |"
    n_rows = sum(max(1, len(step.contributions)) for step in steps)
    assert len(rows) == 2 + n_rows


def test_a_three_layer_network_reads_layer_by_layer() -> None:
    text = str(backward_steps(three_layers(0)()))
    headings = [line for line in text.splitlines() if line.startswith("-- layer")]
    assert headings == ["-- layer 3 --", "-- layer 2 --", "-- layer 1 --"]
    md = backward_steps(three_layers(0)()).markdown()
    assert md.index("**layer 3**") < md.index("**layer 2**") < md.index("**layer 1**")


def test_max_steps_cuts_the_tables_and_says_how_many_more() -> None:
    steps = backward_steps(three_layers(0)(), max_steps=5)
    n = len(steps)
    assert n > 5  # the list keeps every step; only the tables are cut
    text = str(steps)
    assert text.splitlines()[-1].startswith(f"... {n - 5} more steps")
    assert "\n   6  " not in text
    assert f"... {n - 5} more steps" in steps.markdown()
    assert "more step" not in steps.markdown(max_steps=n)


def test_labels_cannot_forge_lines_or_markup() -> None:
    x = Value(1.0, label="<script>alert(1)</script>|x\nforged line\x1b[31m")
    y = x * 2.0
    y.label = "y"
    steps = backward_steps(y)
    text = str(steps)
    assert "\nforged line" not in text and "\x1b" not in text
    md = steps.markdown()
    assert "<script>" not in md and "\nforged line" not in md
    assert "&lt;script&gt;" in md
    body = [line for line in md.splitlines() if "script" in line]
    for line in body:  # the | in the label does not open a new cell
        assert line.replace("\\|", "").count("|") == 7


def test_bad_arguments_are_rejected_with_what_came() -> None:
    with pytest.raises(TypeError, match="backward_steps: root must be a Value"):
        backward_steps(3.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"max_steps must be a positive int \(got 0\)"):
        backward_steps(closed_form(), max_steps=0)
    with pytest.raises(ValueError, match="precision"):
        backward_steps(closed_form(), precision=0)


def test_the_container_is_a_list_of_steps() -> None:
    steps = backward_steps(closed_form())
    assert isinstance(steps, BackwardSteps) and isinstance(steps, list)
    assert all(isinstance(step, Step) for step in steps)
    assert repr(steps) == "<BackwardSteps of L: 6 steps>"
    assert viz.backward_steps is backward_steps
