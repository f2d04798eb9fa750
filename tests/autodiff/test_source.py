"""Tape.to_source(): the compiled computation as numpy code that gives the tape's numbers."""

from __future__ import annotations

import numpy as np
import pytest

import nn
from autodiff import Value, linear, logsumexp, softmax_ce, sum_values, trace
from tests.autodiff.test_fuse import eager_sums, micrograd_mlp, random_program, run


def compiled(tape):
    namespace: dict = {}
    exec(tape.to_source(), namespace)
    return namespace["forward"], namespace["backward"]


def test_the_moons_network_is_written_as_layers_named_after_its_parameters():
    model = nn.MLP(2, [16, 16, 1], seed=0)
    tape = trace(lambda a, b, y: (1 - y * model([a, b])).relu(), 3)
    source = tape.to_source()
    for line in [
        "W1 = theta[0:32].reshape(16, 2)",
        "Z1 = V[",
        "= W1 @ A0[0:2] + b1[:, None]",
        "= W2 @ A1 + b2[:, None]",
        "dW2 = delta2 @ A1.T",
        "db2 = delta2.sum(axis=1)",
    ]:
        assert line in source
    assert "import numpy as np" in source and "import autodiff" not in source
    forward, backward = compiled(tape)
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.normal(size=(50, 2)), rng.choice([-1.0, 1.0], 50)])
    theta = rng.uniform(-1, 1, len(tape.parameters))
    np.testing.assert_allclose(forward(X, theta), tape.forward(X, theta), rtol=1e-12)
    for reduction in ("mean", "sum"):
        np.testing.assert_allclose(
            backward(X, theta, reduction), tape.gradient(reduction), rtol=1e-12, atol=1e-15
        )


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("seed", range(15))
def test_the_source_of_random_graphs_gives_the_eager_numbers(seed, fused):
    rng = np.random.default_rng(2000 + seed)
    params = [Value(rng.uniform(-1, 1), f"p{i}") for i in range(8)]
    program = random_program(seed, 3)
    fn = lambda *xs: run(program, params, xs)  # noqa: E731
    X = rng.uniform(-2, 2, (6, 3))
    outputs, grads = eager_sums(fn, X, params)
    tape = trace(fn, 3, fuse=fused)
    forward, backward = compiled(tape)
    theta = np.array([p.data for p in tape.parameters])
    np.testing.assert_allclose(forward(X, theta), outputs, rtol=1e-12, atol=1e-14)
    by_parameter = dict(zip(tape.parameters, backward(X, theta, "sum"), strict=True))
    from_source = [by_parameter.get(p, 0.0) for p in params]
    np.testing.assert_allclose(from_source, grads, rtol=1e-12, atol=1e-13)


def test_every_op_is_written_out():
    w = Value(0.7, "w")

    def fn(x):
        parts = [
            2.0 - x * w,
            w / (x * x + 1.0),
            (x * x + 0.5) ** 1.5 + (x * x + 0.5) ** w + 2.0**x,
            (-x).exp() + (x * x + 1.0).log(),
            x.tanh() + x.sigmoid() + x.relu() + x.leaky_relu(0.1),
            (x * x + 1.0).sqrt() + abs(x) + x.sin() + x.cos() + x.softplus(),
            (x * w).clamp(-0.5, 0.9) + x.clamp(-0.2, 0.4) * w,
            logsumexp([x, w, x * w]) + sum_values([x, w, 1.0]),
            softmax_ce([x, w, x * w], [0.25, x * x, 0.5]),
        ]
        return sum_values(parts)

    X = np.array([[-1.3], [-0.2], [0.4], [2.1]])
    outputs, grads = eager_sums(fn, X, [w])
    tape = trace(fn, 1, fuse=False)
    forward, backward = compiled(tape)
    np.testing.assert_allclose(forward(X, [w.data]), outputs, rtol=1e-12)
    np.testing.assert_allclose(backward(X, [w.data], "sum"), grads, rtol=1e-12)


def test_a_micrograd_shaped_network_is_written_as_matrix_products_too():
    model = micrograd_mlp([2, 4, 1], seed=5)
    tape = trace(lambda a, b: model([a, b]), 2)
    source = tape.to_source()
    assert "W1 @ A0 + b1[:, None]" in source and "W2 @ A1 + b2[:, None]" in source


def test_constants_read_by_layers_alone_get_no_rows_and_the_source_still_matches():
    """1.0 and 3.0 are a layer's bias and weight, read from the leaves; 2.0, 5.0 and 7.0 are read
    as values, and they are not consecutive among the constants."""
    w = Value(0.3, "w")

    def fn(x):
        z = (x * 2.0).tanh() * w
        return (z * 5.0).tanh() + linear([Value(3.0)], [z], Value(1.0)) + (z * 7.0).sin()

    tape = trace(fn, 1, fuse=False)
    assert len(tape._constant_rows) == 3 < len(tape._constant_data)
    forward, backward = compiled(tape)
    X = np.array([[0.2], [-1.0], [0.7]])
    outputs, grads = eager_sums(fn, X, [w])
    np.testing.assert_allclose(forward(X, tape.theta()), outputs, rtol=1e-12)
    np.testing.assert_allclose(backward(X, tape.theta(), "sum"), grads, rtol=1e-12)
