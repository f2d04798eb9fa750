"""The tape replays a recorded graph over numpy batches with the eager engine's numbers."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from autodiff import Value, linear, logsumexp, no_grad, ops, softmax_ce, sum_values, trace


def make_layers(sizes: list[int], seed: int) -> list[list[tuple[list[Value], Value]]]:
    rng = np.random.default_rng(seed)
    return [
        [
            ([Value(w) for w in rng.uniform(-1, 1, nin)], Value(rng.uniform(-0.5, 0.5)))
            for _ in range(nout)
        ]
        for nin, nout in itertools.pairwise(sizes)
    ]


def forward(layers, xs, activation: str) -> list[Value]:
    for depth, layer in enumerate(layers):
        zs = [linear(ws, xs, b) for ws, b in layer]
        last = depth == len(layers) - 1
        xs = zs if last else [getattr(z, activation)() for z in zs]
    return xs


def hinge(layers, activation):
    def fn(x1, x2, y):
        return (1 - y * forward(layers, [x1, x2], activation)[0]).relu()

    return fn


def squared_error(layers, activation):
    def fn(x1, x2, t):
        return 0.5 * (forward(layers, [x1, x2], activation)[0] - t) ** 2

    return fn


def logsumexp_ce(layers, activation):
    def fn(x1, x2, label0, label1, label2):
        scores = forward(layers, [x1, x2], activation)
        onehot = [label0, label1, label2]
        return logsumexp(scores) - sum_values([s * t for s, t in zip(scores, onehot, strict=True)])

    return fn


def binary_ce_logits(layers, activation):
    def fn(x1, x2, y):
        z = forward(layers, [x1, x2], activation)[0]
        return z.softplus() - y * z

    return fn


CASES = [
    ("relu", [2, 8, 8, 1], hinge, 3),
    ("tanh", [2, 5, 1], squared_error, 3),
    ("sigmoid", [2, 4, 3], logsumexp_ce, 5),
    ("sigmoid", [2, 3, 1], binary_ce_logits, 3),
    ("leaky_relu", [2, 6, 1], squared_error, 3),
]


def batch_for(n_inputs: int, rows: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(rows, n_inputs))
    if n_inputs == 5:  # one-hot labels in the last three columns
        X[:, 2:] = np.eye(3)[rng.integers(0, 3, rows)]
    else:
        X[:, 2] = rng.choice([-1.0, 1.0], rows) if rows else X[:, 2]
    return X


def eager_rows(fn, X: np.ndarray) -> list[Value]:
    return [fn(*[Value(v) for v in row]) for row in X]


@pytest.mark.parametrize(("activation", "sizes", "loss", "n_inputs"), CASES)
def test_forward_matches_eager_row_by_row(activation, sizes, loss, n_inputs):
    fn = loss(make_layers(sizes, seed=1), activation)
    X = batch_for(n_inputs, 40, seed=2)
    tape = trace(fn, n_inputs)
    expected = np.array([out.data for out in eager_rows(fn, X)])
    np.testing.assert_allclose(tape.forward(X), expected, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize(("activation", "sizes", "loss", "n_inputs"), CASES)
def test_backward_matches_summed_eager_gradients(activation, sizes, loss, n_inputs, reduction):
    fn = loss(make_layers(sizes, seed=3), activation)
    X = batch_for(n_inputs, 25, seed=4)
    tape = trace(fn, n_inputs)
    tape.forward(X)
    tape.backward(reduction)
    from_tape = [p.grad for p in tape.parameters]
    for p in tape.parameters:
        p.grad = 0.0
    total = sum_values(eager_rows(fn, X))
    (total * (1 / len(X)) if reduction == "mean" else total).backward()
    from_eager = [p.grad for p in tape.parameters]
    assert any(g != 0.0 for g in from_eager)
    np.testing.assert_allclose(from_tape, from_eager, rtol=1e-12, atol=1e-15)


def test_parameters_are_the_preexisting_leaves_and_constants_are_not():
    w = Value(2.0, "w")
    unused = Value(5.0, "unused")
    tape = trace(lambda x: w * x + Value(3.0) + 1.0, 1)
    assert tape.parameters == [w]
    assert unused not in tape.parameters


def test_tape_is_reusable_across_batches_and_sees_parameter_updates():
    w = Value(0.5, "w")
    tape = trace(lambda x: (w * x).tanh(), 1)
    np.testing.assert_allclose(tape.forward([[1.0], [2.0]]), np.tanh([0.5, 1.0]), rtol=1e-15)
    w.data = -1.5
    np.testing.assert_allclose(tape.forward([[3.0]]), np.tanh([-4.5]), rtol=1e-15)
    tape.backward("sum")
    assert w.grad == pytest.approx(3.0 * (1 - math.tanh(-4.5) ** 2), rel=1e-12)


def test_gradients_accumulate_across_backward_calls():
    w = Value(3.0)
    tape = trace(lambda x: w * w * x, 1)
    tape.forward([[1.0], [2.0]])
    tape.backward("mean")
    tape.backward("mean")
    assert w.grad == pytest.approx(2 * (2 * 3.0 * 1.5), rel=1e-12)


def test_a_function_that_reads_input_data_is_refused():
    def branchy(x):
        return x.relu() if x.data > 0 else -x

    with pytest.raises(TypeError, match=r"trace: .*\.data"):
        trace(branchy, 1)


def test_comparing_values_is_impossible_by_construction():
    with pytest.raises(TypeError):
        trace(lambda x: x if x > 0 else -x, 1)


def test_domain_error_inside_a_batch_names_the_row():
    tape = trace(lambda x: (x - 1.0).log(), 1)
    with pytest.raises(ValueError, match=r"log: expected x > 0, got -1\.0 at row 2"):
        tape.forward([[3.0], [2.0], [0.0]])


def test_division_by_zero_inside_a_batch_is_zero_division_error():
    tape = trace(lambda x: 1.0 / x, 1)
    with pytest.raises(ZeroDivisionError, match="row 1"):
        tape.forward([[3.0], [0.0]])


def test_overflow_inside_a_batch_is_overflow_error():
    tape = trace(lambda x: x.exp(), 1)
    with pytest.raises(OverflowError, match=r"exp: .* row 1"):
        tape.forward([[1.0], [1000.0]])


def test_infinite_derivative_inside_a_batch_is_an_error():
    w = Value(1.0, "w")
    tape = trace(lambda x: (w * x).sqrt(), 1)
    tape.forward([[4.0], [0.0]])
    with pytest.raises(ZeroDivisionError, match="row 1"):
        tape.backward()
    assert w.grad == 0.0


def test_no_gradient_is_computed_toward_inputs_or_constants():
    """Only parameters get gradients: sqrt's infinite slope at x = 0 leads to the input alone,
    so it is never formed, and w's gradient is the eager one, sqrt(x) summed over the rows."""
    w = Value(0.5, "w")
    tape = trace(lambda x: x.sqrt() * w + (x * 3.0).sqrt(), 1)
    tape.forward([[0.0], [4.0]])
    tape.backward("sum")
    assert w.grad == pytest.approx(0.0 + 2.0, rel=1e-15)


@pytest.mark.parametrize(
    ("X", "error"),
    [
        ([[1.0, 2.0]], ValueError),
        ([1.0, 2.0], ValueError),
        ([[float("nan")]], ValueError),
        ([["a"]], TypeError),
        (np.empty((0, 1)), ValueError),
    ],
)
def test_bad_batches_are_refused(X, error):
    tape = trace(lambda x: x * 2.0, 1)
    with pytest.raises(error, match=r"Tape\.forward"):
        tape.forward(X)


def test_backward_before_forward_and_bad_reduction():
    tape = trace(lambda x: x * 2.0, 1)
    with pytest.raises(RuntimeError, match="forward"):
        tape.backward()
    tape.forward([[1.0]])
    with pytest.raises(ValueError, match="reduction"):
        tape.backward("max")


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_n_inputs_must_be_a_positive_int(bad):
    with pytest.raises(ValueError, match="n_inputs"):
        trace(lambda *xs: xs[0], bad)


def test_fn_must_return_a_value():
    with pytest.raises(TypeError, match="must return a Value"):
        trace(lambda x: 1.0, 1)
    with pytest.raises(TypeError, match="must return a Value"):
        trace(lambda x: [], 1)


def test_every_op_row_replays_like_eager():
    w = Value(0.7, "w")
    ops = [
        lambda x: x + w,
        lambda x: 2.0 - x * w,
        lambda x: w / (x * x + 1.0),
        lambda x: (x * x + 0.5) ** 1.5,
        lambda x: (x * x + 0.5) ** w,
        lambda x: 2.0**x,
        lambda x: (-x).exp() + (x * x + 1.0).log(),
        lambda x: x.tanh() + x.sigmoid() + x.relu() + x.leaky_relu(0.1),
        lambda x: (x * x + 1.0).sqrt() + abs(x) + x.sin() + x.cos() + x.softplus(),
        lambda x: (x * w).clamp(-0.5, 0.9) + x.clamp(-0.2, 0.4) * w,
        lambda x: logsumexp([x, w, x * w]) + sum_values([x, w, 1.0]),
    ]
    X = np.array([[-1.3], [-0.2], [0.4], [2.1]])
    for fn in ops:
        tape = trace(fn, 1)
        np.testing.assert_allclose(tape.forward(X), [fn(Value(r[0])).data for r in X], rtol=1e-12)
        w.grad = 0.0
        tape.backward("sum")
        from_tape = w.grad
        w.grad = 0.0
        sum_values([fn(Value(r[0])) for r in X]).backward()
        assert from_tape == pytest.approx(w.grad, rel=1e-12, abs=1e-15)


def test_tracing_leaves_no_grad_mode_untouched():
    with no_grad():
        tape = trace(lambda x: x * 3.0, 1)
    np.testing.assert_allclose(tape.forward([[2.0]]), [6.0])


def test_layers_with_computed_or_shared_weights_match_eager():
    """Weights that are not leaves, and a neuron reading one input twice, take the generic path."""
    scale = Value(1.5, "scale")
    ws = [Value(0.3), Value(-0.7)]

    def fn(x1, x2):
        computed = [linear([w * scale for w in ws], [x1, x2], 0.1) for _ in range(3)]
        repeated = linear(ws, [x1, x1], scale)
        return sum_values([z.tanh() for z in computed]) * repeated

    X = np.array([[0.2, -1.0], [1.4, 0.3], [-0.6, 0.9]])
    tape = trace(fn, 2)
    expected = [fn(Value(a), Value(b)).data for a, b in X]
    np.testing.assert_allclose(tape.forward(X), expected, rtol=1e-12)
    tape.backward("sum")
    from_tape = [p.grad for p in tape.parameters]
    for p in tape.parameters:
        p.grad = 0.0
    sum_values([fn(Value(a), Value(b)) for a, b in X]).backward()
    np.testing.assert_allclose(from_tape, [p.grad for p in tape.parameters], rtol=1e-12)


def test_several_outputs_replay_as_columns_and_backward_differentiates_their_sum():
    w = Value(0.8, "w")
    tape = trace(lambda x: [w * x, (w * x).tanh(), w * x], 1)
    X = np.array([[0.5], [-1.0]])
    np.testing.assert_allclose(
        tape.forward(X), [[0.4, math.tanh(0.4), 0.4], [-0.8, math.tanh(-0.8), -0.8]], rtol=1e-15
    )
    tape.backward("sum")
    # d/dw of (wx + tanh(wx) + wx) summed over the rows, with the repeated output counted twice
    expected = sum(2 * x + x * (1 - math.tanh(0.8 * x) ** 2) for x in (0.5, -1.0))
    assert w.grad == pytest.approx(expected, rel=1e-12)


def test_a_function_that_compares_input_data_for_equality_is_refused():
    w = Value(2.0)
    with pytest.raises(TypeError, match=r"trace: .*\.data"):
        trace(lambda x: x * w if x.data != 0.0 else x - 100.0, 1)


def test_an_infinite_slope_where_no_gradient_arrives_passes_nothing_on():
    """sqrt's slope is infinite at 0, but relu sends no gradient there: as in eager, no error."""
    w = Value(1.0, "w")
    fn = lambda x: ((w * x * x).sqrt() - 100.0).relu()  # noqa: E731 -- one line reads best
    tape = trace(fn, 1)
    tape.forward([[0.0], [1.0]])
    tape.backward("sum")
    assert w.grad == 0.0
    sum_values([fn(Value(0.0)), fn(Value(1.0))]).backward()
    assert w.grad == 0.0


def test_a_batch_gradient_that_overflows_is_an_error_and_leaves_grads_alone():
    w = Value(1.0, "w")
    tape = trace(lambda x: w * x * 1e306, 1)
    tape.forward(np.full((100, 1), 10.0))
    with pytest.raises(OverflowError, match=r"Tape\.backward: .*label 'w'.* overflows"):
        tape.backward("sum")
    assert w.grad == 0.0


def test_a_failed_forward_leaves_nothing_for_backward():
    tape = trace(lambda x: (x - 1.0).log(), 1)
    tape.forward([[3.0]])
    with pytest.raises(ValueError):
        tape.forward([[0.5]])
    with pytest.raises(RuntimeError, match="forward"):
        tape.backward()


def test_forward_without_keep_computes_the_same_and_keeps_nothing():
    w = Value(0.3)
    tape = trace(lambda x: (w * x).tanh(), 1)
    X = np.array([[1.0], [-2.0]])
    np.testing.assert_array_equal(tape.forward(X, keep=False), tape.forward(X))
    tape.forward(X, keep=False)
    with pytest.raises(RuntimeError, match="forward"):
        tape.backward()


def small_network_tape():
    fn = hinge(make_layers([2, 5, 4, 1], seed=7), "tanh")
    return fn, trace(fn, 3)


def test_forward_with_theta_uses_those_numbers_and_leaves_the_values_alone():
    fn, tape = small_network_tape()
    X = batch_for(3, 12, seed=8)
    before = [p.data for p in tape.parameters]
    theta = np.random.default_rng(9).uniform(-1, 1, len(tape.parameters))
    from_theta = tape.forward(X, theta)
    assert [p.data for p in tape.parameters] == before
    for p, number in zip(tape.parameters, theta, strict=True):
        p.data = float(number)
    expected = np.array([out.data for out in eager_rows(fn, X)])
    np.testing.assert_allclose(from_theta, expected, rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_gradient_is_the_eager_gradient_in_parameter_order_and_touches_no_grad(reduction):
    fn, tape = small_network_tape()
    X = batch_for(3, 9, seed=10)
    theta = np.random.default_rng(11).uniform(-1, 1, len(tape.parameters))
    tape.forward(X, theta)
    gradient = tape.gradient(reduction)
    assert all(p.grad == 0.0 for p in tape.parameters)
    for p, number in zip(tape.parameters, theta, strict=True):
        p.data = float(number)
    total = sum_values(eager_rows(fn, X))
    (total * (1 / len(X)) if reduction == "mean" else total).backward()
    eager = np.array([p.grad for p in tape.parameters])
    assert np.abs(eager).max() > 0.0
    np.testing.assert_allclose(gradient, eager, rtol=1e-12, atol=1e-15)


def test_backward_adds_the_gradient_to_grad():
    _, tape = small_network_tape()
    tape.forward(batch_for(3, 6, seed=12))
    gradient = tape.gradient("sum")
    for p in tape.parameters:
        p.grad = 0.5
    tape.backward("sum")
    np.testing.assert_array_equal([p.grad for p in tape.parameters], gradient + 0.5)


@pytest.mark.parametrize(
    ("theta", "error"),
    [(np.zeros(3), ValueError), (np.zeros((1, 44)), ValueError), (["a"] * 44, TypeError)],
)
def test_theta_of_the_wrong_length_or_kind_is_refused(theta, error):
    _, tape = small_network_tape()
    assert len(tape.parameters) == 44  # (2·5 + 5) + (5·4 + 4) + (4 + 1)
    with pytest.raises(error, match=r"Tape\.forward: theta"):
        tape.forward(batch_for(3, 2, seed=0), theta)


def test_batches_of_changing_sizes_reuse_blocks_without_mixing_rows():
    """Blocks are kept per batch size; every replay still gives that batch's own numbers."""
    fn, tape = small_network_tape()
    for rows, seed in [(4, 1), (7, 2), (4, 3), (1, 4), (7, 5), (4, 6)]:
        X = batch_for(3, rows, seed=seed)
        expected = np.array([out.data for out in eager_rows(fn, X)])
        np.testing.assert_allclose(tape.forward(X), expected, rtol=1e-12)
        gradient = tape.gradient("sum")
        for p in tape.parameters:
            p.grad = 0.0
        sum_values(eager_rows(fn, X)).backward()
        np.testing.assert_allclose(
            gradient, [p.grad for p in tape.parameters], rtol=1e-12, atol=1e-15
        )
        for p in tape.parameters:
            p.grad = 0.0


@pytest.mark.parametrize(
    "X",
    [
        np.array([[1.0 + 2.0j]]),
        np.ma.masked_array([[1.0], [2.0]], mask=[[False], [True]]),
        np.array([["2024-01-01"]], dtype="datetime64[D]"),
        np.array([["1.5"]]),
        [[True]],
    ],
    ids=["complex", "masked", "datetime", "numeric strings", "bools"],
)
def test_only_real_numeric_batches_pass(X):
    tape = trace(lambda x: x * 2.0, 1)
    with pytest.raises(TypeError, match=r"Tape\.forward: X must be an array of real numbers"):
        tape.forward(X)


def test_an_overflow_in_backward_is_overflow_error_as_in_eager():
    """sqrt's slope at 1e-20 is finite (5e9); times the gradient 1e300 it leaves the floats."""
    w = Value(1.0, "w")
    fn = lambda x: (w * x).sqrt() * 1e300  # noqa: E731 -- one line reads best
    with pytest.raises(OverflowError):
        fn(Value(1e-20)).backward()
    tape = trace(fn, 1)
    tape.forward([[1.0], [1e-20]])
    with pytest.raises(OverflowError, match=r"backward through sqrt: .*overflows.* row 1"):
        tape.gradient()


def test_a_nan_parameter_is_reported_as_nan():
    w = Value(1.0, "w")
    tape = trace(lambda x: w * x, 1)
    w.data = float("nan")
    with pytest.raises(ValueError, match=r"parameters must be finite \(got nan \(label 'w'\)\)"):
        tape.forward([[1.0]])


def wide_tape():
    ws = [Value(0.1 * i) for i in range(50)]
    return ws, trace(lambda x: sum_values([(w * x).tanh() for w in ws]), 1)


def test_a_huge_batch_without_keep_is_replayed_in_chunks_of_bounded_memory(monkeypatch):
    import tracemalloc

    import autodiff.tape

    ws, tape = wide_tape()
    monkeypatch.setattr(autodiff.tape, "MAX_BLOCK_BYTES", 2**20)
    X = np.linspace(-2, 2, 20_000)[:, None]
    tracemalloc.start()
    try:
        outputs = tape.forward(X, keep=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20  # the whole block would take 100 nodes x 20000 rows x 8 B = 16 MB
    expected = sum(np.tanh(w.data * X[:, 0]) for w in ws)
    np.testing.assert_allclose(outputs, expected, rtol=1e-12, atol=1e-12)


def test_a_huge_batch_kept_for_backward_is_refused_with_the_memory_and_the_fix(monkeypatch):
    import autodiff.tape

    _, tape = wide_tape()
    monkeypatch.setattr(autodiff.tape, "MAX_BLOCK_BYTES", 2**20)
    with pytest.raises(ValueError, match=r"at most [0-9]+ rows .*\(got 20000.* MiB.*keep=False"):
        tape.forward(np.zeros((20_000, 1)))


def test_theta_is_the_parameters_numbers_in_order_and_forward_at_it_matches():
    _, tape = small_network_tape()
    theta = tape.theta()
    np.testing.assert_array_equal(theta, [p.data for p in tape.parameters])
    X = batch_for(3, 5, seed=13)
    np.testing.assert_array_equal(tape.forward(X, theta), tape.forward(X))
    tape.parameters[2].data = float("inf")
    with pytest.raises(ValueError, match=r"parameters must be finite \(got inf"):
        tape.theta()


def test_changing_theta_after_forward_does_not_change_the_gradient():
    _, tape = small_network_tape()
    X = batch_for(3, 6, seed=14)
    theta = tape.theta()
    tape.forward(X, theta)
    expected = tape.gradient("sum")
    tape.forward(X, theta)
    theta += 1.0
    np.testing.assert_array_equal(tape.gradient("sum"), expected)


def many_input_program(seed: int):
    """A random graph of sums, logsumexps and weighted sums side by side on each level, whose
    terms repeat nodes (a shared subexpression read twice by one node and by several), use a
    parameter twice, mix inputs, constants and computed nodes, and are not consecutive rows."""
    rng = np.random.default_rng(seed)
    params = [Value(rng.uniform(-1, 1), f"p{i}") for i in range(5)]
    steps = []
    for _ in range(int(rng.integers(2, 5))):  # levels
        width = int(rng.integers(2, 6))
        kinds = rng.choice(["sum", "logsumexp", "linear", "tanh"], int(rng.integers(1, 5)))
        steps.append([(str(k), [int(i) for i in rng.integers(0, 99, 2 * width)]) for k in kinds])

    def fn(*xs):
        nodes = [*xs, *params, Value(0.5), xs[0] * params[0]]
        for level in steps:
            made = []
            for kind, picks in level:
                terms = [nodes[i % len(nodes)] for i in picks]
                half = len(terms) // 2
                if kind == "sum":
                    made.append(sum_values(terms))
                elif kind == "logsumexp":
                    made.append(logsumexp(terms))
                elif kind == "linear":
                    made.append(linear(terms[:half], terms[half:], params[1]))
                else:
                    made.append(terms[0].tanh())
            nodes += made
        return sum_values(nodes[-3:]) * params[2]

    return fn, params


@pytest.mark.parametrize("seed", range(30))
def test_many_input_ops_side_by_side_replay_like_eager_row_by_row(seed):
    fn, params = many_input_program(seed)
    X = np.random.default_rng(seed).uniform(-1.5, 1.5, (6, 3))
    for p in params:
        p.grad = 0.0
    outputs = [fn(*[Value(v) for v in row]) for row in X]
    sum_values(outputs).backward()
    expected = {p: p.grad for p in params}
    tape = trace(fn, 3)
    np.testing.assert_allclose(tape.forward(X), [o.data for o in outputs], rtol=1e-12)
    gradient = dict(zip(tape.parameters, tape.gradient("sum"), strict=True))
    np.testing.assert_allclose(
        [gradient.get(p, 0.0) for p in params], list(expected.values()), rtol=1e-12, atol=1e-15
    )


def test_a_sum_adds_its_terms_in_the_order_written():
    """Left to right, ((1e16 + 1) - 1e16) + 1 is 1.0 and ((1 + 1e16) + 1) - 1e16 is 0.0 in
    floats (other orders give 0.0 or 2.0); two such sums on one level are one block."""
    big = Value(1e16, "big")
    tape = trace(lambda x: [sum_values([big, x, -big, x]), sum_values([x, big, x, -big])], 1)
    np.testing.assert_array_equal(tape.forward([[1.0]]), [[1.0, 0.0]])


def test_a_logsumexp_reading_one_node_twice_sends_it_both_shares():
    """d/dw logsumexp(z, z, 0) with z = w x is 2 x e^z / (2 e^z + 1): both reads pass gradient."""
    w = Value(0.3, "w")

    def fn(x):
        z = w * x
        return logsumexp([z, z, Value(0.0)])

    tape = trace(fn, 1)
    tape.forward([[2.0]])
    tape.backward("sum")
    e = math.exp(0.6)
    assert w.grad == pytest.approx(2 * 2.0 * e / (2 * e + 1), rel=1e-13)


def softmax_ce_program(case: str):
    """Softmax cross-entropy nodes on a 2-4-3 network's logits z, per case: targets read from
    the inputs; two nodes reading the same logits (each logit gets both gradients); targets
    that are parameters and computed nodes (so they need gradients); logits and targets from
    rows apart (gathered), one a parameter, one a constant; two samples' nodes on one level."""
    layers = make_layers([2, 4, 3], seed=21)
    p = [Value(w, f"p{i}") for i, w in enumerate([0.7, -0.4, 1.3])]

    def logits(x1, x2):
        return forward(layers, [x1, x2], "tanh")

    def fn(*xs):
        z = logits(xs[0], xs[1])
        t = list(xs[2:5])
        if case == "inputs":
            return softmax_ce(z, t)
        if case == "shared logits":
            return softmax_ce(z, t) + 0.5 * softmax_ce(z, [t[2], t[0], t[1]])
        if case == "parameter targets":
            return softmax_ce(z, [p[0], p[1] * xs[0], p[2] + t[1]])
        if case == "scattered rows":
            return softmax_ce([z[2], p[0], z[0]], [t[1], Value(0.25), t[0]])
        second = logits(xs[5], xs[6])  # two samples: (x1, x2, t0..t2, x1', x2', t0'..t2')
        return sum_values([softmax_ce(z, t), softmax_ce(second, list(xs[7:10]))])

    n_inputs = 10 if case == "two samples" else 5
    return fn, n_inputs, [w for layer in layers for ws, b in layer for w in (*ws, b)] + p


SOFTMAX_CE_CASES = ["inputs", "shared logits", "parameter targets", "scattered rows", "two samples"]


@pytest.mark.parametrize("case", SOFTMAX_CE_CASES)
def test_softmax_ce_replays_like_eager_row_by_row_in_values_and_gradients(case):
    fn, n_inputs, params = softmax_ce_program(case)
    rng = np.random.default_rng(22)
    X = rng.uniform(-2, 2, (17, n_inputs))
    X[:, 2:5] = rng.dirichlet(np.ones(3), 17)  # probability targets, with a one-hot row
    X[0, 2:5] = [0.0, 1.0, 0.0]
    for p in params:
        p.grad = 0.0
    outputs = eager_rows(fn, X)
    sum_values(outputs).backward()
    expected = {p: p.grad for p in params}
    assert any(g != 0.0 for g in expected.values())
    if case in ("parameter targets", "scattered rows"):
        assert expected[params[-3]] != 0.0  # p0, a target or a logit
    tape = trace(fn, n_inputs)
    np.testing.assert_allclose(tape.forward(X), [o.data for o in outputs], rtol=1e-12)
    gradient = dict(zip(tape.parameters, tape.gradient("sum"), strict=True))
    np.testing.assert_allclose(
        [gradient.get(p, 0.0) for p in params], list(expected.values()), rtol=1e-12, atol=1e-15
    )


def test_softmax_ce_on_the_tape_gives_the_rows_vfn_and_local_rule():
    """z_i = a_i x_i and t_i = b_i x_(3+i): the loss is the row's vfn on those columns, and
    dL/da_i = Σ slope_z_i · x_i, dL/db_i = Σ slope_t_i · x_(3+i) with the row's local slopes,
    also for logits 1e16 apart and for equal logits near 1e16 (log 2)."""
    a = [Value(v, f"a{i}") for i, v in enumerate([1.0, -0.5, 2.0])]
    b = [Value(v, f"b{i}") for i, v in enumerate([0.5, 1.5, 1.0])]

    def fn(*x):
        zs = [ai * xi for ai, xi in zip(a, x[:3], strict=True)]
        return softmax_ce(zs, [bi * xi for bi, xi in zip(b, x[3:], strict=True)])

    rng = np.random.default_rng(23)
    X = rng.uniform(-3, 3, (9, 6))
    X[0] = [1e16, -2e16, 0.5e16, 2.0, 0.0, 1.0]  # z = 1e16, 1e16, 1e16
    X[1] = [1e16, 0.0, 0.0, 0.0, 2.0, 0.0]
    tape = trace(fn, 6)
    Z = X[:, :3] * [1.0, -0.5, 2.0]
    T = X[:, 3:] * [0.5, 1.5, 1.0]
    losses = ops.SOFTMAX_CE.vfn(*Z.T, *T.T)
    assert losses[0] == pytest.approx(2.0 * math.log(3.0), rel=1e-15)
    assert losses[1] == pytest.approx(3e16, rel=1e-15)
    np.testing.assert_allclose(tape.forward(X), losses, rtol=1e-12, atol=0.0)
    slopes = ops.SOFTMAX_CE.local(*Z.T, *T.T, losses)
    expected = [(slopes[i] * X[:, i]).sum() for i in range(6)]
    gradient = dict(zip(tape.parameters, tape.gradient("sum"), strict=True))
    np.testing.assert_allclose([gradient[p] for p in [*a, *b]], expected, rtol=1e-12)


def test_a_weight_0_logit_too_far_below_the_rest_costs_nothing_on_the_tape():
    """Row 0: z = (1e308, -1e308), t = (1, 0): z_1 - m is -inf, which costs 0 (not 0·inf) and
    sends dL/dw = (softmax_0 - t_0)·x_0 = 0. Row 1: z = (1, 2), t = (0, 1): L = log(1 + e^-1)
    and dL/dw = softmax_0 · x_0 = 1 / (1 + e)."""
    w = Value(1.0, "w")
    tape = trace(lambda *x: softmax_ce([w * x[0], x[1]], [x[2], x[3]]), 4)
    X = np.array([[1e308, -1e308, 1.0, 0.0], [1.0, 2.0, 0.0, 1.0]])
    losses = tape.forward(X)
    assert losses[0] == 0.0
    assert losses[1] == pytest.approx(math.log1p(math.exp(-1.0)), rel=1e-15)
    assert tape.gradient("sum").tolist() == pytest.approx([1 / (1 + math.e)], rel=1e-15)
