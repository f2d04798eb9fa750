"""Node names: unique in every case, numbered in order of appearance, and found again by `find`."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff import Value, sum_values, topological_order
from nn import MLP
from viz import draw_graph, explain, find
from viz._names import Names


def named_nodes(root: Value) -> list[Value]:
    """The nodes that get a name: all but the unlabelled leaves, which are written as numbers."""
    return [v for v in topological_order(root) if v.label or v.op is not None]


def assert_unique(root: Value) -> Names:
    names = Names(topological_order(root))
    nodes = named_nodes(root)
    texts = [names.text(v) for v in nodes]
    latexes = [names.latex(v) for v in nodes]
    assert len(set(texts)) == len(nodes), texts
    assert len(set(latexes)) == len(nodes), latexes
    return names


def test_a_label_that_looks_like_a_numbered_name_does_not_take_another_nodes_name() -> None:
    for third in ("x@1", "x#1", "x#2", "t1", "x#1'"):
        first, second, other = Value(1.0, label="x"), Value(2.0, label="x"), Value(3.0, label=third)
        root = first * second * other
        names = assert_unique(root)
        assert names.text(other) == third  # a label no other node shows is its own name
        assert find(root, third) is other
        text = str(explain(root, first))
        assert f"∂{names.text(root)}/∂{names.text(first)}" in text


def test_shared_labels_are_numbered_in_the_order_the_nodes_were_made() -> None:
    xs = [Value(float(k), label="x") for k in range(3)]
    root = sum_values(xs)
    names = Names(topological_order(root))
    assert [names.text(x) for x in xs] == ["x#1", "x#2", "x#3"]
    assert [names.latex(x) for x in xs] == [f"{{x}}^{{({k})}}" for k in (1, 2, 3)]


def test_unlabelled_results_are_numbered_as_they_appear_not_by_graph_position() -> None:
    a, b, c, d = (Value(v, label=n) for v, n in ((1.0, "a"), (2.0, "b"), (3.0, "c"), (4.0, "d")))
    left, right = a * b, c * d
    total = left + right
    out = total.tanh()
    names = Names(topological_order(out))
    assert [names.text(v) for v in (left, right, total, out)] == ["t1", "t2", "t3", "t4"]
    assert names.latex(right) == "t_{2}"


def test_labels_that_differ_only_in_latex_are_written_apart() -> None:
    one, other = Value(1.0, label="x1"), Value(2.0, label="x[1]")  # both x_{1} in the seeds' style
    assert_unique(one * other)


def test_a_label_shown_as_a_number_is_not_taken_for_a_constant() -> None:
    two = Value(5.0, label="2")
    root = two * 2.0
    names = assert_unique(root)
    assert names.text(two) != "2" and names.text(root.parents[1]) == "2"
    assert find(root, "2") is two


def test_labels_with_control_characters_are_shown_escaped_and_stay_apart() -> None:
    newline, backslash_n = Value(1.0, label="a\nb"), Value(2.0, label="a\\nb")
    root = newline * backslash_n
    names = assert_unique(root)
    assert "\n" not in names.text(newline) and "\\n" in names.text(newline)
    assert find(root, "a\nb") is newline and find(root, "a\\nb") is backslash_n


LABEL_PARTS = ["x", "t", "1", "2", "#", "@", "'", "[0]", "wrt", "\n", " ", "\x1b", "<", "_"]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(st.just(""), st.lists(st.sampled_from(LABEL_PARTS), max_size=3).map("".join)),
        min_size=1,
        max_size=7,
    ),
    st.data(),
)
def test_every_named_node_gets_a_name_of_its_own_and_find_returns_it(
    labels: list[str], data: st.DataObject
) -> None:
    nodes = [Value(0.5 + k, label=label) for k, label in enumerate(labels)]
    for label in data.draw(st.lists(st.sampled_from([*LABEL_PARTS, ""]), max_size=5)):
        left, right = data.draw(st.sampled_from(nodes)), data.draw(st.sampled_from(nodes))
        node = left * right
        node.label = label
        nodes.append(node)
    root = sum_values(nodes)
    names = assert_unique(root)
    for node in named_nodes(root):
        assert find(root, names.text(node)) is node
        assert "\n" not in names.text(node) and "\x1b" not in names.text(node)


def batch_of_three() -> tuple[Value, list[list[float]], list[list[float]], list[float]]:
    """A 2-3-1 tanh network summed over three samples, each sample's inputs labelled anew."""
    W1 = [[0.5, -0.2], [0.1, 0.3], [-0.4, 0.6]]
    b1 = [0.1, -0.1, 0.05]
    W2 = [[0.7, -0.3, 0.2]]
    model = MLP.from_weights([W1, W2], [b1, [0.0]], activation="tanh", output_activation="linear")
    X = [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]
    loss = sum_values([model(row) for row in X])
    return loss, X, W1, [*b1, *W2[0]]


def test_a_batch_names_each_samples_nodes_by_the_sample_number() -> None:
    loss, X, W1, (b10, *_rest) = batch_of_three()
    names = Names(topological_order(loss))
    inputs = sorted((v for v in topological_order(loss) if v.label == "x[0]"), key=lambda v: v.data)
    assert [names.text(v) for v in inputs] == ["x[0]#1", "x[0]#2", "x[0]#3"]
    for k, row in enumerate(X, 1):
        assert find(loss, f"x[0]#{k}").data == row[0]
        z = find(loss, f"z1[0]#{k}")
        assert z.data == pytest.approx(W1[0][0] * row[0] + W1[0][1] * row[1] + b10)
    assert "x[0]#2" in str(explain(loss, find(loss, "W1[0,0]")))
    records = draw_graph(loss, max_nodes=10_000).source
    assert "z1[0]#3" in records and not re.search(r"@\d", records)


def test_find_reads_intermediate_gradients_of_a_batch() -> None:
    loss, X, _, params = batch_of_three()
    W2 = params[3:]
    loss.backward()
    for k in range(1, len(X) + 1):
        for j in range(3):
            # d(loss)/d(a1[j]) of sample k is the output weight; through tanh, times 1 - a²
            a = find(loss, f"a1[{j}]#{k}")
            assert a.grad == pytest.approx(W2[j])
            z = find(loss, f"z1[{j}]#{k}")
            assert z.grad == pytest.approx(W2[j] * (1 - math.tanh(z.data) ** 2))
            assert a.data == pytest.approx(math.tanh(z.data))


def test_find_refuses_a_shared_label_and_names_each_node_that_has_it() -> None:
    loss, *_ = batch_of_three()
    with pytest.raises(LookupError, match=r"3 values .* labelled 'x\[0\]'.*x\[0\]#1.*x\[0\]#3"):
        find(loss, "x[0]")
    with pytest.raises(LookupError) as caught:
        find(loss, "x[0]")
    assert not isinstance(caught.value, KeyError)  # "several" is not "none"


def test_find_of_a_missing_label_lists_labels_that_are_there() -> None:
    a, b = Value(1.0, label="alpha"), Value(2.0, label="beta")
    root = a * b
    with pytest.raises(
        KeyError, match=r"no value labelled 'alpah'.*'alpha', 'beta'.*did you mean 'alpha'"
    ):
        find(root, "alpah")
    assert find(root, "t1") is root  # the name an unlabelled result is printed with
    assert find(root, "beta") is b


def test_find_checks_its_arguments() -> None:
    with pytest.raises(TypeError, match=r"find: root must be a Value, got float 1.0"):
        find(1.0, "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"find: label must be a str \(got int 3\)"):
        find(Value(1.0), 3)  # type: ignore[arg-type]
