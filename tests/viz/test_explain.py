"""explain: the chain rule written path by path, checked against maths written here."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal, localcontext

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from autodiff import Value, gradients, linear, local_derivatives, sum_values, topological_order
from viz import Derivation, explain
from viz._names import latex_label
from viz.explain import MAX_FACTORS


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def all_paths(root: Value, wrt: Value) -> list[float]:
    """Every path's product of local derivatives, by brute force (an explicit stack)."""
    products = []
    stack = [(root, 1.0)]
    while stack:
        node, product = stack.pop()
        if node is wrt:
            products.append(product)
            continue
        if node.op is None:
            continue
        n_diff = len(node.parents) - node.op.consts
        for parent, partial in zip(node.parents[:n_diff], local_derivatives(node), strict=True):
            stack.append((parent, product * partial))
    return products


def test_product_plus_sum_has_one_path_per_use() -> None:
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    ab = a * b
    f = ab + a  # df/da = b + 1 along two paths: through the product (b) and directly (1)
    f.label = "f"
    t = "t1"  # the first unlabelled result
    d = explain(f, a)
    assert d.n_paths == 2
    assert sorted(p.product for p in d.paths) == pytest.approx(sorted([-3.0, 1.0]))
    assert d.total == pytest.approx(-3.0 + 1.0)
    text = str(d)
    assert f"∂{t}/∂a = b = -3" in text  # a product's local derivative is the other factor
    assert f"∂f/∂{t} = 1" in text and "∂f/∂a = 1" in text  # a sum's is 1
    assert f"{t} = a · b = -6" in text  # the generated name, defined
    assert text.splitlines()[-3] == "  ∂f/∂a = -3 + 1 = -2"


def test_sigmoid_and_tanh_are_written_through_their_outputs() -> None:
    z = Value(0.3, label="z")
    a = z.sigmoid()
    a.label = "a"
    h = a.tanh()
    h.label = "h"
    d = explain(h, z)
    s, t = sigmoid(0.3), math.tanh(sigmoid(0.3))
    assert d.total == pytest.approx((1 - t * t) * s * (1 - s))
    text = str(d)
    assert f"∂a/∂z = a(1 - a) = {s * (1 - s):.4g}" in text
    assert f"∂h/∂a = 1 - h² = {1 - t * t:.4g}" in text
    md = d.markdown()
    assert r"\frac{\partial a}{\partial z} = a(1 - a)" in md
    assert r"\frac{\partial h}{\partial a} = 1 - {h}^2" in md


def test_constants_print_as_numbers_and_unlabelled_results_get_defined_names() -> None:
    x = Value(0.5, label="x")
    e = x - 1.0
    sq = e**2
    y = sq * 0.5  # dy/dx = x - 1
    d = explain(y, x)
    assert d.total == pytest.approx(0.5 - 1.0)
    te, tsq, ty = "t1", "t2", "t3"  # unlabelled results, numbered as they were made
    text = str(d)
    assert f"{te} = x - 1 = -0.5" in text
    assert f"{tsq} = {te} ^ 2 = 0.25" in text
    assert f"{ty} = {tsq} · 0.5 = 0.125" in text
    assert f"∂{ty}/∂{tsq} = 0.5" in text
    assert [name.name for name in d.definitions] == [te, tsq, ty]


def test_same_value_twice_in_one_op_counts_as_two_paths() -> None:
    a = Value(3.0, label="a")
    sq = a * a
    d = explain(sq, a)
    assert d.n_paths == 2 and d.total == pytest.approx(6.0)
    text = str(d)
    t = "t1"
    assert f"∂{t}/∂a (argument 1) = a = 3" in text
    assert f"∂{t}/∂a (argument 2) = a = 3" in text


def test_root_that_does_not_depend_on_wrt_and_wrt_that_is_root() -> None:
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    f = a.exp()
    f.label = "f"
    none = explain(f, b)
    assert none.total == 0.0 and none.n_paths == 0 and none.paths == []
    assert "f does not depend on b" in str(none) and "= 0" in none.markdown()
    self_ = explain(f, f)
    assert self_.total == 1.0 and self_.n_paths == 1
    assert "∂f/∂f = 1" in str(self_)


def test_a_fixed_exponent_is_not_a_path() -> None:
    x = Value(2.0, label="x")
    y = x**3
    exponent = y.parents[1]
    assert explain(y, exponent).n_paths == 0
    d = explain(y, x)
    assert d.total == pytest.approx(3 * 2.0**2)


def test_total_ignores_stale_grads_and_explain_changes_nothing() -> None:
    a, b = Value(1.5, label="a"), Value(-0.5, label="b")
    f = (a * b).tanh() + a
    a.grad, b.grad, f.grad = 123.0, -7.0, 99.0  # left over from earlier calls
    before = [(v.data, v.grad, v.label, v.parents, v.op) for v in topological_order(f)]
    d = explain(f, a)
    assert d.total == pytest.approx((1 - math.tanh(-0.75) ** 2) * -0.5 + 1)
    assert before == [(v.data, v.grad, v.label, v.parents, v.op) for v in topological_order(f)]


def test_total_is_what_backward_leaves_in_grad() -> None:
    a, b = Value(0.7, label="a"), Value(-1.2, label="b")
    f = ((a * b).sigmoid() * a + b.tanh() * a) / (a * a + 1.0)
    f.backward()
    assert explain(f, a).total == a.grad
    assert explain(f, b).total == b.grad


def diamonds(k: int, weights: Callable[[int], tuple[float, float]]) -> tuple[Value, Value]:
    """x through k diamonds: each splits into u·x and v·x and sums them, so 2^k paths."""
    x = Value(0.9, label="x")
    h = x
    for i in range(k):
        u, v = weights(i)
        h = sum_values([h * u, h * v])
    return x, h


def test_many_paths_write_the_largest_then_one_summary_line() -> None:
    x, f = diamonds(6, lambda i: (0.5 + 0.1 * i, -0.25 * (i + 1)))
    every = all_paths(f, x)
    d = explain(f, x, max_paths=5)
    assert d.n_paths == len(every) == 2**6
    assert len(d.paths) == 5
    largest = sorted(every, key=abs, reverse=True)[:5]
    assert [abs(p.product) for p in d.paths] == pytest.approx([abs(p) for p in largest])
    expected_total = math.prod((0.5 + 0.1 * i) - 0.25 * (i + 1) for i in range(6))
    assert d.total == pytest.approx(expected_total)
    assert d.rest == pytest.approx(expected_total - sum(p.product for p in d.paths))
    assert f"... and {2**6 - 5} more paths not written, contributing" in str(d)
    assert str(d).count("\nPath ") == 5


def test_astronomically_many_paths_are_counted_not_enumerated() -> None:
    x, f = diamonds(80, lambda i: (0.6, 0.45))  # each diamond multiplies by 1.05
    d = explain(f, x, max_paths=3)
    assert d.n_paths == 2**80
    assert d.total == pytest.approx(1.05**80)
    assert len(d.paths) == 3
    assert "1,208,925,819,614,629,174,706,176 paths lead from x to" in str(d)


def test_paths_are_grouped_after_their_common_start() -> None:
    w = Value(0.3, label="w")
    z = w * 2.0
    z.label = "z"
    a = z.tanh()
    a.label = "a"
    outs = [a * c for c in (1.0, -2.0, 4.0)]
    f = sum_values(outs)
    f.label = "f"
    d = explain(f, w)
    assert [n.label for n in d.common] == ["w", "z", "a"]
    slope = (1 - math.tanh(0.6) ** 2) * 2.0
    assert sorted(g.contribution for g in d.groups) == pytest.approx(
        sorted(slope * c for c in (1.0, -2.0, 4.0))
    )
    assert "Every path starts w → z → a, then branches at a:" in str(d)


def test_branches_beyond_max_paths_are_summed_alike_in_text_and_markdown() -> None:
    w = Value(0.3, label="w")
    a = (w * 2.0).tanh()
    a.label = "a"
    weights = (1.0, -2.0, 4.0, 0.5)
    f = sum_values([a * c for c in weights])
    f.label = "f"
    slope = (1 - math.tanh(0.6) ** 2) * 2.0
    rest = f"{slope * (1.0 + 0.5):.4g}"  # the two smallest branches, c = 1 and c = 0.5
    d = explain(f, w, max_paths=2)
    text, md = str(d), d.markdown()
    assert "Every path starts w → t1 → a, then branches at a:" in text  # t1 = w · 2
    assert "Every path starts $w \\to t_{1} \\to a$, then branches at $a$:\n\n- via" in md
    assert "\n  via t" in text and f"contributing {slope * 4.0:.4g}\n" in text
    assert f"contributing ${slope * 4.0:.4g}$\n" in md
    assert f"  ... and 2 more branches, contributing {rest}\n" in text
    assert f"- ... and 2 more branches, contributing ${rest}$\n" in md


def test_seed_000_network_matches_the_seed_and_the_delta_rule() -> None:
    """The seed's 1-2-2 sigmoid network, L = 1/2 Σ (a2 - y)², dL/dW1[0,0] by the δ rule."""
    x = Value(1.0, label="x[0]")
    w1, b1 = [0.2, -0.3], [0.1, 0.1]
    w2, b2 = [[0.4, -0.5], [0.3, 0.8]], [0.2, -0.1]
    y = [1.0, 0.0]
    W1 = [Value(w, label=f"W1[{j},0]") for j, w in enumerate(w1)]
    a1 = [linear([W1[j]], [x], b1[j]).sigmoid() for j in range(2)]
    a2 = [linear(w2[j], a1, b2[j]).sigmoid() for j in range(2)]
    loss = 0.5 * sum_values([(a2[j] - y[j]) ** 2 for j in range(2)])
    loss.label = "L"
    s1 = [sigmoid(w1[j] + b1[j]) for j in range(2)]
    s2 = [sigmoid(sum(w2[j][k] * s1[k] for k in range(2)) + b2[j]) for j in range(2)]
    delta2 = [(s2[j] - y[j]) * s2[j] * (1 - s2[j]) for j in range(2)]
    delta1 = (w2[0][0] * delta2[0] + w2[1][0] * delta2[1]) * s1[0] * (1 - s1[0])
    d = explain(loss, W1[0])
    assert d.total == pytest.approx(delta1 * 1.0)
    assert d.total == pytest.approx(-0.00024, abs=1e-5)  # the seed's number
    assert d.n_paths == 2
    assert sorted(p.product for p in d.paths) == pytest.approx(
        sorted(delta2[j] * w2[j][0] * s1[0] * (1 - s1[0]) for j in range(2))
    )


def test_markdown_uses_latex_names_and_renders_in_jupyter() -> None:
    w = Value(0.2, label="W1[0,0]")
    odd = Value(2.0, label="my_var{$}")
    z = w * odd
    z.label = "z1[0]"
    d = explain(z, w)
    md = d.markdown()
    assert d._repr_markdown_() == md
    assert r"\frac{\partial z^{[1]}_{0}}{\partial W^{[1]}_{0,0}}" in md
    assert r"\mathrm{my\_var\{\$\}}" in md
    assert md.count("$$") % 2 == 0 and len(re.findall(r"(?<!\\)\$", md)) % 2 == 0


def test_arguments_are_checked() -> None:
    x = Value(1.0)
    with pytest.raises(TypeError, match=r"explain: root must be a Value, got float 2.0"):
        explain(2.0, x)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"explain: wrt must be a Value, got str 'x'"):
        explain(x, "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"explain: max_paths must be a positive int \(got 0\)"):
        explain(x, x, max_paths=0)


def test_precision_sets_the_digits() -> None:
    x = Value(1 / 3, label="x")
    y = x * 3.0
    y.label = "y"
    assert "∂y/∂x = 3" in str(explain(y, x, precision=2))
    z = x * x
    assert "= 0.333333" in str(explain(z, x, precision=6))


def test_a_deep_chain_is_explained_without_recursion() -> None:
    x = Value(0.1, label="x")
    y = x
    for _ in range(3000):
        y = y * 1.0001
    d = explain(y, x)
    assert d.n_paths == 1 and d.total == pytest.approx(1.0001**3000)


def test_a_long_path_shows_the_factors_at_its_ends_and_the_exact_product() -> None:
    x = Value(0.1, label="x")
    y = x
    steps = [1.0 + 0.01 * (i % 7) for i in range(2000)]
    for step in steps:
        y = y * step
    y.label = "y"
    expected = math.prod(steps)
    d = explain(y, x)
    (path,) = d.paths
    assert len(path.nodes) == 2001 and path.nodes[0] is x and path.nodes[-1] is y
    assert len(path.factors) == MAX_FACTORS and path.skipped == 2000 - MAX_FACTORS
    half = MAX_FACTORS // 2
    ends = steps[::-1][:half] + steps[::-1][-half:]  # root side first
    assert [f.value for f in path.factors] == pytest.approx(ends)
    assert path.factors[0].out is y and path.factors[-1].input is x
    assert path.product == pytest.approx(expected) and d.total == pytest.approx(expected)
    text, md = str(d), d.markdown()
    assert f"... {2000 - MAX_FACTORS:,} more factors ..." in text
    assert f"- ... {2000 - MAX_FACTORS:,} more factors ..." in md
    product = next(line for line in text.splitlines() if " × " in line)
    assert " × ... × " in product and product.endswith(f" = {expected:.4g}")
    assert len(text) < 6000 and len(md) < 8000  # not one line per node of the chain


def test_a_path_of_max_factors_is_written_in_full() -> None:
    x = Value(0.5, label="x")
    y = x
    for _ in range(MAX_FACTORS):
        y = y.tanh()
    (path,) = explain(y, x).paths
    assert len(path.factors) == MAX_FACTORS and path.skipped == 0
    assert " ... " not in str(explain(y, x))


def test_a_long_common_start_is_shortened_too() -> None:
    x = Value(0.3, label="x")
    h = x
    for _ in range(500):
        h = h * 1.001
    h.label = "h"
    f = sum_values([h * 2.0, h * -1.0])
    d = explain(f, x)
    assert d.n_paths == 2 and len(d.common) == 501
    text = str(d)
    assert "Every path starts x → " in text and " → ... → " in text
    assert "then branches at h:" in text and len(text) < 8000


# ---- random graphs: every leaf, against backward, finite differences and brute force ----

UNARY = ("tanh", "sigmoid", "sin", "neg", "square", "scale")
BINARY = ("add", "sub", "mul", "div")
NARY = ("sum", "linear")
Recipe = list[tuple[str, tuple[int, ...]]]


@st.composite
def graphs(draw: st.DrawFn) -> tuple[list[float], Recipe]:
    leaves = draw(st.lists(st.floats(-1.5, 1.5), min_size=1, max_size=4))
    steps: Recipe = []
    for size in range(len(leaves), len(leaves) + draw(st.integers(1, 9))):
        kind = draw(st.sampled_from(UNARY + BINARY + NARY))
        arity = 1 if kind in UNARY else 2 if kind in BINARY else (3 if kind == "sum" else 5)
        steps.append((kind, tuple(draw(st.integers(0, size - 1)) for _ in range(arity))))
    return leaves, steps


def build(leaves: Sequence[float], steps: Recipe) -> tuple[list[Value], Value]:
    xs = [Value(v, label=f"x{i}") for i, v in enumerate(leaves)]
    nodes = list(xs)
    for kind, picks in steps:
        a = [nodes[i] for i in picks]
        if kind == "tanh":
            out = a[0].tanh()
        elif kind == "sigmoid":
            out = a[0].sigmoid()
        elif kind == "sin":
            out = a[0].sin()
        elif kind == "neg":
            out = -a[0]
        elif kind == "square":
            out = a[0] ** 2
        elif kind == "scale":
            out = 0.7 * a[0]
        elif kind == "add":
            out = a[0] + a[1]
        elif kind == "sub":
            out = a[0] - a[1]
        elif kind == "mul":
            out = a[0] * a[1]
        elif kind == "div":
            out = a[0] / (1.0 + a[1] * a[1])
        elif kind == "sum":
            out = sum_values(a)
        else:
            out = linear(a[:2], a[2:4], a[4])
        nodes.append(out)
    return xs, nodes[-1]


@settings(max_examples=150, deadline=None)
@given(graphs())
def test_random_graphs_every_leaf_total_equals_grad_and_paths_add_up(
    graph: tuple[list[float], Recipe],
) -> None:
    leaves, steps = graph
    xs, root = build(leaves, steps)
    assume(all(abs(v.data) < 1e3 for v in topological_order(root)))
    expected = gradients(root, xs)
    h = 1e-6
    for i, x in enumerate(xs):
        d = explain(root, x, max_paths=10_000)
        assert isinstance(d, Derivation)
        assert d.total == pytest.approx(expected[i], rel=1e-12, abs=1e-12)

        up = list(leaves)
        up[i] += h
        down = list(leaves)
        down[i] -= h
        numeric = (build(up, steps)[1].data - build(down, steps)[1].data) / (2 * h)
        assert d.total == pytest.approx(numeric, rel=1e-4, abs=1e-5)

        every = all_paths(root, x)
        assert d.n_paths == len(every)
        assert len(d.paths) == d.n_paths and d.rest == 0.0
        assert math.fsum(p.product for p in d.paths) == pytest.approx(d.total, abs=1e-9)
        assert math.fsum(every) == pytest.approx(d.total, abs=1e-9)
        for path in d.paths:
            assert path.nodes[0] is x and path.nodes[-1] is root
            assert [f.input for f in reversed(path.factors)] == list(path.nodes[:-1])
            assert [f.out for f in reversed(path.factors)] == list(path.nodes[1:])
            assert math.prod(f.value for f in path.factors) == pytest.approx(path.product)

        few = explain(root, x, max_paths=2)
        assert len(few.paths) == min(2, d.n_paths)
        top = sorted((abs(p) for p in every), reverse=True)[:2]
        assert [abs(p.product) for p in few.paths] == pytest.approx(top)
        shown = math.fsum(p.product for p in few.paths)
        assert shown + few.rest == pytest.approx(d.total, abs=1e-9)


def test_an_unlabelled_wrt_outside_the_graph_is_called_wrt_in_every_output() -> None:
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    f = (a * b).tanh()
    f.label = "f"
    d = explain(f, Value(1.0))  # no label and no position in f's graph to name it by
    assert d.total == 0.0 and d.n_paths == 0 and d.paths == []
    assert "f does not depend on wrt" in str(d)
    assert r"\frac{\partial f}{\partial \mathrm{wrt}} = 0" in d.markdown()
    assert d._repr_markdown_() == d.markdown()
    assert repr(d) == "<Derivation df/dwrt = 0 over 0 paths>"


def test_a_labelled_wrt_outside_the_graph_is_told_apart_from_a_namesake_inside() -> None:
    x = Value(2.0, label="x")
    f = x.tanh()
    f.label = "f"
    d = explain(f, Value(2.0, label="x"))  # another Value that happens to be called x
    assert d.total == 0.0 and d.n_paths == 0
    assert "f does not depend on x@wrt" in str(d)
    assert r"{x}^{@\mathrm{wrt}}" in d.markdown()
    assert repr(d) == "<Derivation df/dx@wrt = 0 over 0 paths>"
    assert "f does not depend on y" in str(explain(f, Value(2.0, label="y")))


MATH = re.compile(r"\$\$(.+?)\$\$|(?<!\\)\$(.+?)(?<!\\)\$", re.DOTALL)


def math_fragments(md: str) -> list[str]:
    """Every $...$ and $$...$$ of a Markdown text, display maths first matched as a whole."""
    return [(display or inline).strip() for display, inline in MATH.findall(md)]


def mlp_like() -> tuple[Value, list[Value]]:
    """A 1-2-1 tanh network with the seeds' labels, a squared-error loss, and shared labels."""
    x = Value(0.5, label="x[0]")
    W1 = [Value(w, label=f"W1[{j},0]") for j, w in enumerate((0.3, -0.7))]
    a1 = []
    for j in range(2):
        z = linear([W1[j]], [x], Value(0.1, label=f"b1[{j}]"))
        z.label = f"z1[{j}]"
        a = z.tanh()
        a.label = f"a1[{j}]"
        a1.append(a)
    W2 = [Value(w, label=f"W2[0,{k}]") for k, w in enumerate((0.4, 0.9))]
    z2 = linear(W2, a1, Value(-0.2, label="b2[0]"))
    z2.label = "z2[0]"
    a2 = z2.tanh()
    a2.label = "a2[0]"
    loss = 0.5 * (a2 - 1.0) ** 2 + (a2 * -0.25).exp() / Value(3.0, label="a2[0]")
    loss.label = "L"
    return loss, [x, *W1, *W2]


def powers() -> list[tuple[Value, Value]]:
    """Powers with labelled bases and exponents, and a value used twice by one op."""
    w = Value(0.5, label="W1[0,0]")
    x, y = Value(1.5, label="x"), Value(2.5, label="y[1]")
    square = w**2
    both = x**y
    odd = Value(-2.0, label="my_var{$} 2")
    return [(square, w), (both, x), (both, y), ((w * x) ** y, w), ((w * w) * odd, w)]


def cases() -> list[object]:
    loss, leaves = mlp_like()
    return [
        pytest.param(root, wrt, id=f"d{root.label or 'root'}/d{wrt.label}")
        for root, wrt in [(loss, v) for v in leaves[:3]] + powers()
    ]


@pytest.mark.parametrize("root, wrt", cases())
def test_markdown_maths_is_valid_latex(root: Value, wrt: Value) -> None:
    mathtext = pytest.importorskip("matplotlib.mathtext")
    parser = mathtext.MathTextParser("path")
    md = explain(root, wrt).markdown()
    fragments = math_fragments(md)
    assert len(fragments) > 5
    for expr in sorted(set(fragments)):
        parser.parse(f"${expr}$")  # raises ValueError with the offending column


# ---- hostile labels, huge counts, overflows: what a careless or hostile caller meets ----

HTML_LABELS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "a<b", "&lt;x&gt;"]
BREAKING_LABELS = ["two\n\nlines", "a\rb", "red\x1b[31mtext", "sep\u2028arator", "tab\tbed"]


def tiny_graph(label: str) -> tuple[Value, Value]:
    x = Value(0.5, label=label)
    w = Value(-1.5, label="w")
    f = (x * w).tanh() + x  # two paths from x, so every part of the derivation is written
    f.label = "f"
    return f, x


@pytest.mark.parametrize("label", HTML_LABELS + BREAKING_LABELS)
def test_no_label_opens_an_html_tag_or_breaks_the_maths_in_markdown(label: str) -> None:
    f, x = tiny_graph(label)
    md = explain(f, x).markdown()
    assert not re.search(r"<[A-Za-z/!?]", md)  # how Markdown recognises raw HTML
    assert "&lt;" not in md.replace(r"\&lt;", "")  # an entity in a label is not decoded
    assert not any(c in md for c in "\r\x1b\u2028\t")
    plain = explain(*tiny_graph("x")).markdown()
    assert len(md.splitlines()) == len(plain.splitlines())  # a label adds no line
    for line in md.splitlines():  # inline maths opens and closes on its line
        assert len(re.findall(r"(?<!\\)\$", line)) % 2 == 0, line


@pytest.mark.parametrize("label", BREAKING_LABELS)
def test_no_label_forges_a_line_or_an_escape_sequence_in_text(label: str) -> None:
    f, x = tiny_graph(label)
    text, plain = str(explain(f, x)), str(explain(*tiny_graph("x")))
    assert len(text.splitlines()) == len(plain.splitlines())
    assert all(c.isprintable() for c in text.replace("\n", ""))
    assert repr(label)[1:-1] in text  # shown as the escape Python writes: \n, \x1b, \u2028


# matplotlib's mathtext, the checker here, lacks \& (which LaTeX, MathJax and KaTeX know)
@pytest.mark.parametrize("label", [t for t in HTML_LABELS + BREAKING_LABELS if "&" not in t])
def test_hostile_labels_still_give_valid_latex(label: str) -> None:
    mathtext = pytest.importorskip("matplotlib.mathtext")
    f, x = tiny_graph(label)
    title = math_fragments(explain(f, x).markdown())[0]  # d f / d label, the name in a fraction
    assert latex_label(label) in title
    mathtext.MathTextParser("path").parse(f"${title}$")


def test_more_paths_than_python_writes_digits_for_are_counted_in_scientific_form() -> None:
    levels = 3576  # 16**3576 = 2**14304 paths: more than the 4300 digits Python writes
    x = Value(0.9, label="x")
    h = x
    for _ in range(levels):
        h = sum_values([h] * 16) * 0.0625  # 16 paths per level, each of slope 1/16
    h.label = "f"
    d = explain(h, x, max_paths=1)
    assert d.n_paths == 16**levels
    assert d.total == pytest.approx(1.0)
    with localcontext() as context:  # 16**3576 to 4 significant digits, by decimal arithmetic
        context.prec, context.rounding = 4, ROUND_HALF_UP
        mantissa, exponent = f"{Decimal(16) ** levels:e}".split("e")
    assert exponent == "+4305"
    shown = f"{mantissa.rstrip('0').rstrip('.')}e4305"
    text, md = str(d), d.markdown()
    assert f"{shown} paths lead from x to f" in text
    assert f"of {shown}: " in text and f"of {shown}: " in md
    assert repr(d) == f"<Derivation df/dx = 1 over {shown} paths>"


def test_explain_raises_where_backward_raises_on_an_overflowing_gradient() -> None:
    z = Value(1e-300, label="z")
    f = z * 1e200 * 1e200 - z * 1e200 * 1e200  # 0, but each path's slope is 1e400
    with pytest.raises(OverflowError):
        f.backward()
    with pytest.raises(OverflowError, match=r"explain: .*overflows at the factor .*mul"):
        explain(f, z)


@pytest.mark.parametrize(
    "make, value",
    [
        (lambda x: x.log(), 5e-324),  # 1/x overflows
        (lambda x: 1.0 / x, 1e-160),  # -1/x² overflows
    ],
)
def test_explain_never_returns_an_infinite_or_nan_total(make: Callable, value: float) -> None:
    x = Value(value, label="x")
    y = make(x)
    assert math.isfinite(y.data)
    with pytest.raises(OverflowError):
        y.backward()
    with pytest.raises(OverflowError, match=r"explain: ∂t1/∂x is not finite"):
        explain(y, x)


@pytest.mark.parametrize(
    "make, value, error, fragment",
    [
        (lambda x: x.sqrt(), 0.0, ZeroDivisionError, r"sqrt\) at x = 0\.0 divides by zero"),
        (lambda x: x**-3.05, 1e-100, OverflowError, r"pow\) at x = 1e-100 overflows a float"),
    ],
)
def test_a_local_derivative_that_fails_is_named_with_its_op_and_input(
    make: Callable, value: float, error: type[Exception], fragment: str
) -> None:
    x = Value(value, label="x")
    y = make(x)
    with pytest.raises(error):  # backward raises this type: explain raises the same
        y.backward()
    with pytest.raises(error, match=f"^explain: the local derivative of t1 = .*{fragment}") as e:
        explain(y, x)
    assert "(34," not in str(e.value)


def test_text_and_markdown_write_the_same_blocks() -> None:
    loss, leaves = mlp_like()
    d = explain(loss, leaves[1], max_paths=2)
    text, md = str(d), d.markdown()
    pieces = [p for block in d.blocks() for line in block.lines for p in line]
    formulas = [p for p in pieces if hasattr(p, "latex")]
    assert len(formulas) > 10
    for formula in formulas:
        assert formula.text in text and formula.latex in md
    assert text.count("Path ") == md.count("**Path ") == 2


@pytest.mark.parametrize(
    "make, written",
    [
        (lambda x: x.exp(), f"exp(x) = {math.exp(0.5):.4g}"),
        (lambda x: x.sqrt(), f"√(x) = {math.sqrt(0.5):.4g}"),
        (lambda x: abs(-x), f"|t1| = {0.5:.4g}"),
        (lambda x: x / 4.0, f"x / 4 = {0.125:.4g}"),
        (lambda x: x.sigmoid(), f"σ(x) = {sigmoid(0.5):.4g}"),
        (lambda x: linear([x, x], [2.0, 3.0], 1.0), "x·2 + x·3 + 1 = 3.5"),
    ],
)
def test_each_op_writes_its_result_from_its_inputs(make: Callable, written: str) -> None:
    x = Value(0.5, label="x")
    y = make(x)
    assert f"= {written}" in str(explain(y, x))
