"""Property-based tests: random expression DAGs with shared sub-expressions, gradients against
central finite differences and against micrograd, and no NaN from any op on any finite input."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from autodiff import Value, gradients, linear, no_grad, sum_values, topological_order

settings.register_profile(
    "autodiff-properties",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
FAST = settings.get_profile("autodiff-properties")
MANY = 1000  # examples in each property's `slow` run


def check(*strategies: st.SearchStrategy) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Check a property over FAST's examples, and again over MANY as a test marked `slow`.

    The slow copies run with the rest of the suite (CI runs them); `pytest -m "not slow"` leaves
    them out while working.
    """

    def register(test: Callable[..., None]) -> Callable[..., None]:
        many = settings(FAST, max_examples=MANY)(given(*strategies)(test))
        globals()[f"{test.__name__}_over_many_examples"] = pytest.mark.slow(many)
        return FAST(given(*strategies)(test))

    return register


BOUND = 50.0  # every node stays within ±BOUND so finite differences stay accurate


class Reject(Exception):
    """The drawn graph leaves the region where finite differences are a fair reference."""


def kinked(a: Value, kinks: list[bool]) -> Value:
    kinks.append(a.data > 0)  # finite differences must not step across a kink
    return a


# each op is built so that its domain holds for every input: no guard depends on data
UNARY = {
    "neg": lambda a, k: -a,
    "tanh": lambda a, k: a.tanh(),
    "sigmoid": lambda a, k: a.sigmoid(),
    "exp": lambda a, k: (a * 0.1).exp(),
    "log(1+a²)": lambda a, k: (1 + a * a).log(),
    "sqrt(a²+0.25)": lambda a, k: (a * a + 0.25).sqrt(),
    "sin": lambda a, k: a.sin(),
    "cos": lambda a, k: a.cos(),
    "softplus": lambda a, k: a.softplus(),
    "a²": lambda a, k: a**2,
    "a³": lambda a, k: a**3,
    "1/(1+a²)": lambda a, k: 1 / (1 + a * a),
    "2-a": lambda a, k: 2 - a,
    "1.5^tanh(a)": lambda a, k: 1.5 ** a.tanh(),
    "relu": lambda a, k: kinked(a, k).relu(),
    "abs": lambda a, k: abs(kinked(a, k)),
    "leaky_relu": lambda a, k: kinked(a, k).leaky_relu(0.1),
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "a/(1+b²)": lambda a, b: a / (1 + b * b),
    "(1+a²)^tanh(b)": lambda a, b: (1 + a * a) ** b.tanh(),
    "linear": lambda a, b: linear([a, b], [b, 0.5], 0.25),
    "sum": lambda a, b: sum_values([a, b, a]),
}
NAMES = sorted(UNARY) + sorted(BINARY)

Step = tuple[str, int, int]


@st.composite
def graphs(draw) -> tuple[list[float], list[Step], bool]:
    """Leaf values, then steps (op, i, j) whose operands are any earlier node, so later nodes
    reuse earlier ones; the root is the last node or the sum of every computed node."""
    n_leaves = draw(st.integers(2, 4))
    xs = draw(st.lists(st.floats(-2, 2), min_size=n_leaves, max_size=n_leaves))
    steps = []
    for k in range(draw(st.integers(1, 10))):
        available = n_leaves + k
        name = draw(st.sampled_from(NAMES))
        i = draw(st.integers(0, available - 1))
        j = draw(st.integers(0, available - 1))
        steps.append((name, i, j))
    return xs, steps, draw(st.booleans())


def build(xs, steps, sum_root):
    """(leaves, root, signs at kinks, every node) for leaf values xs."""
    nodes = [Value(x, label=f"x{i}") for i, x in enumerate(xs)]
    kinks: list[bool] = []
    for name, i, j in steps:
        unary = UNARY.get(name)
        out = unary(nodes[i], kinks) if unary else BINARY[name](nodes[i], nodes[j])
        if abs(out.data) > BOUND:
            raise Reject
        nodes.append(out)
    root = sum_values(nodes[len(xs) :]) if sum_root else nodes[-1]
    return nodes[: len(xs)], root, kinks, nodes


def build_or_reject(xs, steps, sum_root):
    try:
        return build(xs, steps, sum_root)
    except Reject:
        assume(False)


def central_difference(f, xs, k, h):
    up, down = list(xs), list(xs)
    up[k] += h
    down[k] -= h
    return (f(up) - f(down)) / (2 * h)


def numeric_gradient(f, xs, k, h=2e-4):
    """Central differences at h and h/2, combined (Richardson) to cancel the h² error term."""
    return (4 * central_difference(f, xs, k, h / 2) - central_difference(f, xs, k, h)) / 3


def root_value(steps, sum_root, kinks):
    def f(xs):
        try:
            with no_grad():
                _, root, moved_kinks, _ = build(xs, steps, sum_root)
        except Reject:
            assume(False)
        assume(moved_kinks == kinks)
        return root.data

    return f


@check(graphs())
def test_random_dag_gradients_match_central_differences(graph):
    xs, steps, sum_root = graph
    leaves, root, kinks, _ = build_or_reject(xs, steps, sum_root)
    root.backward()
    f = root_value(steps, sum_root, kinks)
    for k, leaf in enumerate(leaves):
        assert leaf.grad == pytest.approx(numeric_gradient(f, xs, k), rel=1e-6, abs=1e-7), k


@check(graphs())
def test_random_dag_second_derivatives_match_differences_of_gradients(graph):
    xs, steps, sum_root = graph
    leaves, root, kinks, _ = build_or_reject(xs, steps, sum_root)
    first = gradients(root, leaves, create_graph=True)

    def grad_of(k):
        def f(moved):
            moved_leaves, moved_root, moved_kinks, _ = build_or_reject(moved, steps, sum_root)
            assume(moved_kinks == kinks)
            return gradients(moved_root, moved_leaves)[k]

        return f

    for k, g in enumerate(first):
        if not isinstance(g, Value) or not g.parents:
            continue  # a constant gradient: nothing to differentiate
        second = gradients(g, leaves)
        for j in range(len(leaves)):
            numeric = numeric_gradient(grad_of(k), xs, j)
            assert second[j] == pytest.approx(numeric, rel=1e-5, abs=1e-6), (k, j)


@check(graphs())
def test_random_dag_backward_gradients_and_create_graph_agree(graph):
    xs, steps, sum_root = graph
    leaves, root, _, nodes = build_or_reject(xs, steps, sum_root)
    floats = gradients(root, leaves)
    values = gradients(root, leaves, create_graph=True)
    assert all(node.grad == 0.0 for node in nodes)  # gradients() leaves .grad alone
    root.backward()
    for leaf, f, v in zip(leaves, floats, values, strict=True):
        v = v.data if isinstance(v, Value) else v
        assert leaf.grad == pytest.approx(f, rel=1e-12, abs=1e-15)
        assert v == pytest.approx(f, rel=1e-12, abs=1e-15)
    once = [leaf.grad for leaf in leaves]
    root.backward()
    assert [leaf.grad for leaf in leaves] == pytest.approx([2 * g for g in once], rel=1e-15)


@check(graphs())
def test_random_dag_topological_order_is_valid_and_complete(graph):
    xs, steps, sum_root = graph
    _, root, _, _ = build_or_reject(xs, steps, sum_root)
    order = topological_order(root)
    position = {id(node): i for i, node in enumerate(order)}
    assert len(position) == len(order)
    assert order[-1] is root
    for node in order:
        for parent in node.parents:
            assert position[id(parent)] < position[id(node)]
    # every node the root reaches is listed: walk the parents independently
    reached, frontier = set(), [root]
    while frontier:
        node = frontier.pop()
        if id(node) not in reached:
            reached.add(id(node))
            frontier.extend(node.parents)
    assert reached == set(position)


# ---- micrograd as an independent reference, on the ops it has ----

micrograd_engine = pytest.importorskip("micrograd.engine")

MICRO = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (1 + b * b),
    "square": lambda a, b: a**2,
    "relu": lambda a, b: a.relu() + b * 0.5,
    "rsub": lambda a, b: 1.5 - a,
    "rdiv": lambda a, b: 2 / (1 + a * a),
    "neg": lambda a, b: -a,
}


@check(
    st.lists(st.floats(-2, 2), min_size=2, max_size=4),
    st.lists(
        st.tuples(st.sampled_from(sorted(MICRO)), st.integers(0, 99), st.integers(0, 99)),
        min_size=1,
        max_size=10,
    ),
)
def test_random_dag_matches_micrograd(xs, steps):
    def run(cls):
        nodes = [cls(x) for x in xs]
        for name, i, j in steps:
            out = MICRO[name](nodes[i % len(nodes)], nodes[j % len(nodes)])
            assume(abs(out.data) <= 1e6)
            nodes.append(out)
        nodes[-1].backward()
        return nodes

    ours, theirs = run(Value), run(micrograd_engine.Value)
    for mine, ref in zip(ours, theirs, strict=True):
        assert mine.data == pytest.approx(ref.data, rel=1e-12, abs=1e-12)
        assert mine.grad == pytest.approx(ref.grad, rel=1e-9, abs=1e-9)


# ---- no NaN, whatever finite number comes in ----

finite = st.floats(allow_nan=False, allow_infinity=False)
METHODS = ["exp", "log", "tanh", "sigmoid", "relu", "sqrt", "abs", "sin", "cos", "softplus"]


@check(st.sampled_from(METHODS), finite)
def test_unary_ops_give_a_finite_float_or_raise_never_nan(method, x):
    try:
        out = getattr(Value(x), method)()
    except (ValueError, ArithmeticError):
        # only off the domain, or where the true result is beyond the float range
        off_domain = (method == "log" and x <= 0) or (method == "sqrt" and x < 0)
        assert off_domain or (method == "exp" and x > 709.0), (method, x)
        return
    assert type(out.data) is float
    assert math.isfinite(out.data)


@check(
    st.sampled_from([operator.add, operator.sub, operator.mul, operator.truediv, operator.pow]),
    finite,
    finite,
    st.booleans(),
)
def test_binary_ops_give_a_finite_float_or_raise_never_nan(op, x, y, value_exponent):
    right = Value(y) if value_exponent else y
    try:
        out = op(Value(x), right)
    except (ValueError, ArithmeticError):
        # raising is right only where the result is undefined or beyond the float range
        safe = abs(x) <= 1e150 and abs(y) <= 1e150
        assert not (safe and op in (operator.add, operator.sub, operator.mul)), (op, x, y)
        assert not (safe and op is operator.truediv and abs(y) >= 1e-150), (op, x, y)
        return
    assert type(out.data) is float
    assert math.isfinite(out.data)
