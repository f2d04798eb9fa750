"""The fusion pass: graphs written micrograd's way replay as n-ary sums and matrix products,
with the eager engine's numbers, whatever the graph shares."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from autodiff import Value, sum_values, trace
from autodiff.tape import _DenseGroup


def micrograd_mlp(sizes: list[int], seed: int):
    """An MLP as micrograd writes it: each neuron `sum((w * x for ...), b)`, binary + and *."""
    rng = np.random.default_rng(seed)
    layers = [
        [
            ([Value(w) for w in rng.uniform(-1, 1, nin)], Value(rng.uniform(-0.5, 0.5)))
            for _ in range(nout)
        ]
        for nin, nout in itertools.pairwise(sizes)
    ]

    def model(xs):
        for depth, layer in enumerate(layers):
            zs = [sum((w * x for w, x in zip(ws, xs, strict=True)), b) for ws, b in layer]
            xs = zs if depth == len(layers) - 1 else [z.relu() for z in zs]
        return xs[0]

    return model


def random_program(seed: int, n_inputs: int) -> list[tuple]:
    """Instructions for a random graph: neurons written as Python sums (from 0 or a bias, with
    weights on either side, a weight used twice, an input read twice), products, chains of
    additions whose partial sums are used again, activations, fan-out."""
    rng = np.random.default_rng(seed)
    program = []
    size = n_inputs
    for _ in range(int(rng.integers(4, 9))):
        kind = rng.choice(["neuron", "layer", "chain", "binary", "unary"])

        def pick(k: int, size: int = size) -> list[int]:
            return [int(i) for i in rng.integers(0, size, k)]

        if kind in ("neuron", "layer"):
            reads = pick(int(rng.integers(1, 5)))
            units = 1 if kind == "neuron" else int(rng.integers(2, 5))
            for _ in range(units):
                weights = [int(w) for w in rng.integers(0, 8, len(reads))]
                bias = int(rng.integers(-2, 8))  # negative: no bias, or a sum from 0
                flips = [bool(f) for f in rng.integers(0, 2, len(reads))]
                program.append(("neuron", reads, weights, bias, flips))
                program.append(("unary", size, str(rng.choice(["tanh", "sigmoid", "relu"]))))
                size += 2
        elif kind == "chain":
            program.append(("chain", pick(int(rng.integers(2, 6)))))
            size += 2  # the whole sum and a partial one
        elif kind == "binary":
            program.append(("binary", *pick(2), str(rng.choice(["+", "*", "-"]))))
            size += 1
        else:
            program.append(("unary", *pick(1), str(rng.choice(["tanh", "sigmoid"]))))
            size += 1
    program.append(("out", pick(int(rng.integers(1, 4)))))
    return program


def run(program: list[tuple], params: list[Value], xs) -> Value:
    nodes = list(xs)
    for kind, *args in program:
        if kind == "neuron":
            reads, weights, bias, flips = args
            terms = (
                nodes[i] * params[w] if flip else params[w] * nodes[i]
                for i, w, flip in zip(reads, weights, flips, strict=True)
            )
            if bias == -1:
                nodes.append(sum(terms))
            elif bias == -2:
                nodes.append(sum(terms) + params[0])  # the bias added last
            else:
                nodes.append(sum(terms, params[bias]))
        elif kind == "chain":
            partial = nodes[args[0][0]] + nodes[args[0][-1]]
            nodes.append(sum((nodes[i] for i in args[0][1:]), partial))
            nodes.append(partial)
        elif kind == "binary":
            i, j, symbol = args
            a, b = nodes[i], nodes[j]
            nodes.append(a + b if symbol == "+" else a * b if symbol == "*" else a - b)
        elif kind == "unary":
            nodes.append(getattr(nodes[args[0]], args[1])())
        else:
            return sum((nodes[i] for i in args[0]), nodes[-1]).tanh()
    raise AssertionError("a program ends with its output")


def eager_sums(fn, X: np.ndarray, params: list[Value]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's output, and the batch's summed gradient of every parameter, eagerly."""
    for p in params:
        p.grad = 0.0
    outputs = [fn(*[Value(v) for v in row]) for row in X]
    sum_values(outputs).backward()
    grads = np.array([p.grad for p in params])
    for p in params:
        p.grad = 0.0
    return np.array([out.data for out in outputs]), grads


@pytest.mark.parametrize("seed", range(40))
def test_random_graphs_replay_like_eager_fused_or_not(seed):
    rng = np.random.default_rng(1000 + seed)
    params = [Value(rng.uniform(-1, 1), f"p{i}") for i in range(8)]
    program = random_program(seed, 3)
    fn = lambda *xs: run(program, params, xs)  # noqa: E731
    X = rng.uniform(-2, 2, (7, 3))
    outputs, grads = eager_sums(fn, X, params)
    for fused in (True, False):
        tape = trace(fn, 3, fuse=fused)
        np.testing.assert_allclose(tape.forward(X), outputs, rtol=1e-12, atol=1e-14)
        by_parameter = dict(zip(tape.parameters, tape.gradient("sum"), strict=True))
        from_tape = [by_parameter.get(p, 0.0) for p in params]
        np.testing.assert_allclose(from_tape, grads, rtol=1e-12, atol=1e-13)


def test_a_micrograd_shaped_mlp_runs_as_matrix_products_with_eager_numbers():
    model = micrograd_mlp([2, 6, 5, 1], seed=3)
    fn = lambda a, b, y: (1 - y * model([a, b])).relu()  # noqa: E731
    tape = trace(fn, 3)
    assert sum(isinstance(group, _DenseGroup) for group in tape._groups) == 3
    params = tape.parameters
    assert len(params) == (2 * 6 + 6) + (6 * 5 + 5) + (5 + 1)
    rng = np.random.default_rng(4)
    X = np.column_stack([rng.uniform(-2, 2, (30, 2)), rng.choice([-1.0, 1.0], 30)])
    outputs, grads = eager_sums(fn, X, params)
    np.testing.assert_allclose(tape.forward(X), outputs, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(tape.gradient("sum"), grads, rtol=1e-12, atol=1e-14)


def test_a_long_chain_of_additions_becomes_one_sum_added_in_the_same_order():
    """Terms of very different sizes: any other order of addition gives another number."""
    terms = [1e16, 1.0, -1e16, 1.0, 3.0, 1e-3]
    weights = [Value(t) for t in terms]
    fn = lambda x: sum((w for w in weights), x)  # noqa: E731
    tape = trace(fn, 1)
    assert len(tape._groups) == 1
    X = np.array([[0.5], [-1.0]])
    expected = [fn(Value(x)).data for x in X[:, 0]]
    np.testing.assert_array_equal(tape.forward(X), expected)


def test_fusion_leaves_the_recorded_graph_untouched():
    w, b = Value(0.5, "w"), Value(0.1, "b")
    recorded = []

    def fn(x):
        z = sum((w * x for _ in range(3)), b)
        recorded.append(z)
        return z.tanh()

    trace(fn, 1)
    z = recorded[0]
    assert z.op.name == "add" and z.parents[0].op.name == "add" and z.parents[1].op.name == "mul"


def test_a_partial_sum_used_twice_is_kept_and_fanned_out():
    w = Value(0.3, "w")

    def fn(x, y):
        partial = w * x + y
        return (partial + x).tanh() * partial

    rng = np.random.default_rng(5)
    X = rng.uniform(-1, 1, (5, 2))
    outputs, grads = eager_sums(fn, X, [w])
    tape = trace(fn, 2)
    np.testing.assert_allclose(tape.forward(X), outputs, rtol=1e-12)
    np.testing.assert_allclose(tape.gradient("sum"), grads, rtol=1e-12)
