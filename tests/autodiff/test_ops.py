"""Each op's value and derivative against closed forms, and every row of the op table
against central finite differences of its own `fn` (new rows are picked up automatically)."""

from __future__ import annotations

import inspect
import math
import operator

import numpy as np
import pytest

import autodiff
from autodiff import OPS, Value
from autodiff.value import apply

REL = 1e-12  # closed forms and the engine compute the same numbers by different formulas


def d(f, x: float, *args: float) -> tuple[float, float]:
    """(f(x).data, df/dx) through the engine, for one fresh leaf x."""
    leaf = Value(x)
    out = f(leaf, *args)
    out.backward()
    return out.data, leaf.grad


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# name: (method call, closed-form value, closed-form derivative, points)
UNARY = {
    "exp": (Value.exp, math.exp, math.exp, [-3.0, -0.5, 0.0, 1.3, 7.0]),
    "log": (Value.log, math.log, lambda x: 1.0 / x, [0.01, 0.5, 1.0, math.e, 40.0]),
    "tanh": (Value.tanh, math.tanh, lambda x: 1.0 / math.cosh(x) ** 2, [-2.5, -0.3, 0.0, 0.8, 4.0]),
    "sigmoid": (
        Value.sigmoid,
        sigmoid,
        lambda x: math.exp(-x) / (1.0 + math.exp(-x)) ** 2,
        [-6.0, -1.0, 0.0, 0.5, 3.0],
    ),
    "sqrt": (Value.sqrt, math.sqrt, lambda x: 1.0 / (2.0 * math.sqrt(x)), [1e-4, 0.25, 2.0, 9.0]),
    "sin": (Value.sin, math.sin, math.cos, [-2.0, 0.0, 0.7, math.pi / 2, 3.0]),
    "cos": (Value.cos, math.cos, lambda x: -math.sin(x), [-2.0, 0.0, 0.7, math.pi, 3.0]),
    "softplus": (
        Value.softplus,
        lambda x: math.log(1.0 + math.exp(x)),
        sigmoid,
        [-5.0, -0.5, 0.0, 1.0, 6.0],
    ),
    "neg": (operator.neg, lambda x: -x, lambda x: -1.0, [-2.0, 0.0, 3.5]),
    "abs method": (Value.abs, lambda x: math.fabs(x), lambda x: math.copysign(1, x), [-2.0, 3.5]),
    "abs builtin": (abs, lambda x: math.fabs(x), lambda x: math.copysign(1, x), [-0.1, 1e-9, 7.0]),
    "relu": (Value.relu, lambda x: max(x, 0.0), lambda x: float(x > 0), [-3.0, -1e-12, 1e-12, 2.0]),
    "leaky_relu default": (
        Value.leaky_relu,
        lambda x: x if x > 0 else 0.01 * x,
        lambda x: 1.0 if x > 0 else 0.01,
        [-3.0, -1e-12, 1e-12, 2.0],
    ),
    "leaky_relu 0.2": (
        lambda v: v.leaky_relu(0.2),
        lambda x: x if x > 0 else 0.2 * x,
        lambda x: 1.0 if x > 0 else 0.2,
        [-3.0, -0.5, 0.5, 2.0],
    ),
}
UNARY_CASES = [
    pytest.param(call, f, df, x, id=f"{name}({x:g})")
    for name, (call, f, df, points) in UNARY.items()
    for x in points
]


@pytest.mark.parametrize(("call", "f", "df", "x"), UNARY_CASES)
def test_unary_op_value_and_derivative_match_closed_form(call, f, df, x):
    value, slope = d(call, x)
    assert isinstance(value, float)
    assert value == pytest.approx(f(x), rel=REL, abs=1e-15)
    assert slope == pytest.approx(df(x), rel=1e-10, abs=1e-15)


@pytest.mark.parametrize("method", [Value.relu, Value.abs])
def test_kinked_ops_at_exactly_zero_have_value_0_and_slope_0_like_pytorch(method):
    value, slope = d(method, 0.0)
    assert value == pytest.approx(0.0, abs=0.0)
    assert slope == pytest.approx(0.0, abs=0.0)


def test_leaky_relu_at_exactly_zero_takes_the_negative_side_slope_like_pytorch():
    value, slope = d(lambda v: v.leaky_relu(0.3), 0.0)
    assert value == pytest.approx(0.0, abs=0.0)
    assert slope == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("method", "x", "value", "slope"),
    [
        (Value.tanh, 1000.0, 1.0, 0.0),
        (Value.tanh, -1000.0, -1.0, 0.0),
        (Value.sigmoid, 1000.0, 1.0, 0.0),
        (Value.sigmoid, -1000.0, 0.0, 0.0),
        (Value.softplus, 1000.0, 1000.0, 1.0),
        (Value.softplus, -1000.0, 0.0, 0.0),
    ],
)
def test_saturating_ops_at_huge_inputs_give_their_limits_and_finite_slopes(method, x, value, slope):
    got, got_slope = d(method, x)
    assert got == pytest.approx(value, abs=1e-300)
    assert math.isfinite(got_slope)
    assert got_slope == pytest.approx(slope, abs=1e-300)


# name: (operator, value, d/dx, d/dy, points)
BINARY = {
    "add": (operator.add, lambda x, y: x + y, lambda x, y: 1.0, lambda x, y: 1.0),
    "sub": (operator.sub, lambda x, y: x - y, lambda x, y: 1.0, lambda x, y: -1.0),
    "mul": (operator.mul, lambda x, y: x * y, lambda x, y: y, lambda x, y: x),
    "truediv": (operator.truediv, lambda x, y: x / y, lambda x, y: 1 / y, lambda x, y: -x / y**2),
    "pow": (
        operator.pow,
        lambda x, y: math.exp(y * math.log(x)),
        lambda x, y: y * math.exp((y - 1) * math.log(x)),
        lambda x, y: math.exp(y * math.log(x)) * math.log(x),
    ),
}
BINARY_POINTS = [(1.5, 2.0), (0.3, -1.7), (4.0, 0.5), (2.5, 3.0)]
BINARY_CASES = [
    pytest.param(name, x, y, id=f"{name}({x:g},{y:g})")
    for name in BINARY
    for x, y in BINARY_POINTS + ([] if name == "pow" else [(-1.25, 0.8), (-3.0, -2.0)])
]


@pytest.mark.parametrize(("name", "x", "y"), BINARY_CASES)
def test_binary_op_between_two_values(name, x, y):
    op, f, dfx, dfy = BINARY[name]
    a, b = Value(x), Value(y)
    out = op(a, b)
    out.backward()
    assert out.data == pytest.approx(f(x, y), rel=REL)
    assert a.grad == pytest.approx(dfx(x, y), rel=1e-10)
    assert b.grad == pytest.approx(dfy(x, y), rel=1e-10)


@pytest.mark.parametrize(("name", "x", "y"), BINARY_CASES)
def test_binary_op_value_on_the_left_number_on_the_right(name, x, y):
    op, f, dfx, _ = BINARY[name]
    a = Value(x)
    out = op(a, y)
    assert isinstance(out, Value)
    out.backward()
    assert out.data == pytest.approx(f(x, y), rel=REL)
    assert a.grad == pytest.approx(dfx(x, y), rel=1e-10)


@pytest.mark.parametrize(("name", "x", "y"), BINARY_CASES)
def test_binary_op_number_on_the_left_value_on_the_right(name, x, y):
    """radd, rsub, rmul, rtruediv, and rpow (a number base makes the exponent a Value)."""
    op, f, _, dfy = BINARY[name]
    b = Value(y)
    out = op(x, b)
    assert isinstance(out, Value)
    out.backward()
    assert out.data == pytest.approx(f(x, y), rel=REL)
    assert b.grad == pytest.approx(dfy(x, y), rel=1e-10)


@pytest.mark.parametrize(
    ("x", "n"),
    [(1.5, 2), (1.5, 3.0), (-2.0, 3), (-2.0, 2.0), (-2.0, -1), (0.7, -2.5), (4.0, 0.5), (0.0, 2)],
)
def test_pow_with_number_exponent_including_negative_base_and_integer_exponent(x, n):
    a = Value(x)
    out = a**n
    out.backward()
    assert out.data == pytest.approx(x**n, rel=REL)
    assert a.grad == pytest.approx(n * x ** (n - 1), rel=1e-10)


def test_rpow_number_base_differentiates_the_exponent():
    y = Value(3.0)
    out = 2**y
    out.backward()
    assert out.data == pytest.approx(8.0)
    assert y.grad == pytest.approx(8.0 * math.log(2.0))


def test_rpow_with_zero_base_and_positive_exponent_has_value_0_and_slope_0():
    y = Value(2.0)
    out = 0.0**y
    out.backward()
    assert out.data == pytest.approx(0.0, abs=0.0)
    assert y.grad == pytest.approx(0.0, abs=0.0)


def test_unary_minus_then_number_arithmetic_chain():
    # f(x) = 3 - (-x) / 2 * 4 = 3 + 2x
    x = Value(1.25)
    out = 3 - (-x) / 2 * 4
    out.backward()
    assert out.data == pytest.approx(5.5)
    assert x.grad == pytest.approx(2.0)


def test_operator_results_record_parents_in_argument_order():
    a, b = Value(2.0), Value(5.0)
    assert (a - b).parents == (a, b)
    left = 7.0 - b
    assert left.parents[1] is b
    assert left.parents[0].data == pytest.approx(7.0)
    assert (a * a).parents == (a, a)


# ---- every row of the op table, whatever rows it has ----

CANDIDATE_POINTS = [
    (0.7, 1.3, 0.4, -0.9, 1.1, 0.6),
    (1.9, -0.6, -1.2, 0.5, 0.3, 0.2),
    (-0.8, 2.0, 1.6, 0.2, -1.4, -0.3),
    (-1.3, -2.5, 0.9, -0.4, 2.2, 1.5),
    (0.35, 0.45, -0.7, 1.8, -0.25, -0.6),
]
VARIADIC_ARITY = 5  # a sum of five, a linear node with two weights, two inputs and a bias
PAIRED_ARITY = 6  # softmax_ce: three logits, then their three target weights


def arity(op: autodiff.Op) -> int:
    """How many inputs `op` takes, read from its `local(*inputs, out)` signature."""
    if op is autodiff.ops.SOFTMAX_CE:
        return PAIRED_ARITY
    params = list(inspect.signature(op.local).parameters.values())
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return VARIADIC_ARITY
    return len(params) - 1


def in_domain(op: autodiff.Op, point: tuple[float, ...]) -> bool:
    return not any(bool(rule.bad(*point)) for rule in op.domain)


def domain_points(op: autodiff.Op) -> list[tuple[float, ...]]:
    points = [p[: arity(op)] for p in CANDIDATE_POINTS]
    return [p for p in points if in_domain(op, p)]


# zeros, kinks and integer exponents: where a rule may branch (not for finite differences)
EDGE_POINTS = [
    (0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    (0.0, 1.0, 2.0, -1.0, 0.0, 1.0),
    (0.0, 2.0, -0.5, 0.0, 1.0, 0.0),
    (1.0, 0.0, 0.0, 2.0, 1.0, 0.0),
    (-1.0, 0.0, 1.0, 0.0, -2.0, 3.0),
    (-2.0, 3.0, 0.5, 1.0, 0.0, 0.0),
]


def batch_points(op: autodiff.Op) -> list[tuple[float, ...]]:
    """Domain points plus the edge points where the float rule is defined."""
    points = domain_points(op)
    for edge in EDGE_POINTS:
        point = edge[: arity(op)]
        if not in_domain(op, point):
            continue
        try:
            op.local(*point, op.fn(*point))
        except ArithmeticError:  # an infinite slope (sqrt at 0): undefined on floats too
            continue
        points.append(point)
    return points


OP_PARAMS = [pytest.param(op, id=f"{i}-{op.name}") for i, op in enumerate(OPS)]


def test_the_op_table_is_not_empty_and_names_every_contract_method():
    names = {op.name for op in OPS}
    for name in ["add", "sub", "mul", "div", "neg", "pow", "exp", "log", "tanh", "sigmoid", "relu"]:
        assert name in names


@pytest.mark.parametrize("op", OP_PARAMS)
def test_op_row_local_matches_central_differences_of_its_fn(op):
    points = domain_points(op)
    assert len(points) >= 2, f"{op.name}: no candidate point inside its domain"
    h = 1e-6
    for point in points:
        out = op.fn(*point)
        partials = op.local(*point, out)
        assert len(partials) == len(point) - op.consts
        for i, partial in enumerate(partials):
            up = list(point)
            down = list(point)
            up[i] += h
            down[i] -= h
            numeric = (op.fn(*up) - op.fn(*down)) / (2 * h)
            assert float(partial) == pytest.approx(numeric, rel=1e-6, abs=1e-7), (op.name, point, i)


@pytest.mark.parametrize("op", OP_PARAMS)
def test_op_row_vfn_on_arrays_equals_fn_elementwise(op):
    points = batch_points(op)
    columns = [np.array(column) for column in zip(*points, strict=True)]
    batched = np.asarray(op.vfn(*columns))
    assert batched.shape == (len(points),)
    for k, point in enumerate(points):
        assert batched[k] == pytest.approx(op.fn(*point), rel=1e-13, abs=1e-15)


@pytest.mark.parametrize("op", OP_PARAMS)
def test_op_row_local_on_arrays_equals_local_on_floats_elementwise(op):
    """The batched tape evaluates `local` on numpy columns; it must agree with floats."""
    points = batch_points(op)
    columns = [np.array(column) for column in zip(*points, strict=True)]
    with np.errstate(all="ignore"):  # numbers only: branches numpy evaluates and discards
        outs = np.asarray(op.vfn(*columns))
        batched = op.local(*columns, outs)
    for k, point in enumerate(points):
        singles = op.local(*point, op.fn(*point))
        for partial, single in zip(batched, singles, strict=True):
            column = np.broadcast_to(np.asarray(partial, dtype=float), (len(points),))
            assert column[k] == pytest.approx(float(single), rel=1e-13, abs=1e-15)


@pytest.mark.parametrize("op", OP_PARAMS)
def test_op_row_local_built_from_values_has_the_same_numbers(op):
    """With create_graph the same rule runs on Values; the numbers must not change."""
    for point in batch_points(op):
        node = apply(op, tuple(Value(x) for x in point))
        as_floats = autodiff.local_derivatives(node)
        as_values = autodiff.local_derivatives(node, as_values=True)
        assert len(as_values) == len(as_floats) == len(point) - op.consts
        for v, f in zip(as_values, as_floats, strict=True):
            number = v.data if isinstance(v, Value) else v
            assert number == pytest.approx(float(f), rel=1e-13, abs=1e-15)


@pytest.mark.parametrize("op", [p for p in OP_PARAMS if p.values[0].domain])
def test_op_row_domain_rules_raise_their_error_naming_the_op(op):
    n = arity(op)
    bad = [p[:n] for p in CANDIDATE_POINTS if not in_domain(op, p[:n])]
    bad += [(0.0,) * n, (-1.0,) * n, (0.0, -1.0, 0.0, 0.0, 0.0)[:n], (-2.0, 0.5, 1.0, 1.0, 1.0)[:n]]
    seen = 0
    for point in bad:
        for rule in op.domain:
            if not rule.bad(*point):
                continue
            parents = tuple(Value(x, label=f"in{i}") for i, x in enumerate(point))
            with pytest.raises(rule.error) as info:
                apply(op, parents)
            message = str(info.value)
            assert message.startswith(f"{op.name}: expected ")
            assert f"got {float(point[rule.arg])!r} (label 'in{rule.arg}')" in message
            seen += 1
            break
    assert seen >= 1


@pytest.mark.parametrize("op", [p for p in OP_PARAMS if p.values[0].domain])
def test_op_row_domain_rules_on_arrays_agree_with_floats(op):
    n = arity(op)
    points = [p[:n] for p in CANDIDATE_POINTS] + [(0.0,) * n, (-1.0,) * n, (-2.0, 0.5, 1, 1, 1)[:n]]
    columns = [np.array(column) for column in zip(*points, strict=True)]
    for rule in op.domain:
        batched = np.broadcast_to(np.asarray(rule.bad(*columns)), (len(points),))
        assert [bool(b) for b in batched] == [bool(rule.bad(*p)) for p in points]


def test_every_row_has_a_name_of_its_own():
    names = [op.name for op in OPS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("op", OP_PARAMS)
def test_every_row_writes_its_forward_expression_with_every_input(op):
    n = 7 if op is autodiff.ops.LINEAR else arity(op)
    args = [f"q{i}" for i in range(n)]
    for latex in (False, True):
        written = op.expression(args, latex=latex)
        assert all(a in written for a in args), written


def test_zero_to_a_value_power_through_the_tape_has_derivative_zero():
    # the tape runs the same rows: d(0^y)/dy is 0 for y > 0, and the base gets no derivative
    w = Value(1.0, "w")
    tape = autodiff.trace(lambda y: 0.0 ** (w * y), 1)
    out = tape.forward(np.array([[0.5], [2.0]]))
    np.testing.assert_array_equal(out, [0.0, 0.0])
    tape.backward()
    assert w.grad == 0.0


# ---- softmax_ce: Σ_k t_k (logsumexp(z) - z_k), one node for softmax cross-entropy ----


def np_softmax(z):
    e = np.exp(np.asarray(z, dtype=float) - np.max(z))
    return e / e.sum()


def softmax_ce_of(z, t):
    """The node softmax_ce(z; t) for fresh leaves, with those leaves."""
    zs, ts = [Value(x) for x in z], [Value(x) for x in t]
    return autodiff.softmax_ce(zs, ts), zs, ts


def test_softmax_ce_of_two_equal_logits_near_1e16_is_log_2_with_slopes_minus_and_plus_half():
    # one ulp of 1e16 is 2, more than log 2: through logsumexp(z) alone the answer rounds away
    loss, zs, ts = softmax_ce_of([1e16, 1e16], [1.0, 0.0])
    loss.backward()
    assert loss.data == pytest.approx(math.log(2.0), rel=1e-15)
    assert [z.grad for z in zs] == pytest.approx([-0.5, 0.5], abs=1e-15)
    assert [t.grad for t in ts] == pytest.approx([math.log(2.0)] * 2, rel=1e-15)


@pytest.mark.parametrize("seed", range(6))
def test_softmax_ce_value_and_slopes_match_the_numpy_formulas_at_random_points(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 7))
    z = rng.normal(0.0, 3.0, n) + rng.choice([0.0, 1e3, -1e5])
    t = rng.dirichlet(np.ones(n)) * rng.choice([1.0, 0.7])  # weights summing to 1, or not
    loss, zs, ts = softmax_ce_of(z, t)
    loss.backward()
    log_s = z - z.max() - np.log(np.exp(z - z.max()).sum())
    assert loss.data == pytest.approx(-(t * log_s).sum(), rel=1e-12)
    np.testing.assert_allclose([v.grad for v in zs], np_softmax(z) * t.sum() - t, atol=1e-14)
    np.testing.assert_allclose([v.grad for v in ts], -log_s, rtol=1e-12)


def test_softmax_ce_of_logits_spread_wider_than_the_float_range():
    # z1 - z0 = 2e308 is no float; weighing only z1 the loss is 0, weighing z0 it is 2e308
    zs = [Value(-1e308), Value(1e308)]
    right = autodiff.softmax_ce(zs, [0.0, 1.0])
    assert right.data == 0.0
    dz0, dz1, dt0, dt1 = autodiff.local_derivatives(right)
    assert (dz0, dz1, dt0, dt1) == (0.0, 0.0, math.inf, 0.0)  # dL/dt0 = 2e308: no float either
    with pytest.raises(OverflowError, match="softmax_ce: result overflows a float"):
        autodiff.softmax_ce(zs, [1.0, 0.0])
    z, t = np.array([[-1e308], [1e308]]), np.array([[0.0], [1.0]])
    with np.errstate(over="ignore", invalid="raise"):  # -inf gaps are fine, 0 · inf is not
        assert autodiff.ops.SOFTMAX_CE.vfn(*z, *t).tolist() == [0.0]
        partials = autodiff.ops.SOFTMAX_CE.local(*z, *t, np.zeros(1))
    assert [p.tolist() for p in partials[:2]] == [[0.0], [0.0]]


def test_softmax_ce_passes_gradcheck_in_logits_and_weights():
    def f(*xs):
        return autodiff.softmax_ce(xs[:4], xs[4:])

    assert autodiff.gradcheck(f, [0.3, -1.2, 2.0, 0.5, 0.1, 0.2, 0.6, 0.1])
    assert autodiff.gradcheck(f, [1e3, 1e3 + 1.5, 1e3 - 0.5, 1e3, 0.0, 0.0, 1.0, 0.0])


def test_softmax_ce_second_derivatives_with_create_graph_match_finite_differences():
    """Row i of the Hessian from differentiating dL/dz_i again, against central differences of
    the first derivatives (plain float backward), in logits and in weights; and against the
    closed form Σt (diag(s) - s sᵀ) in the logits, s_i - [i = k] across."""
    z, t = np.array([0.4, -1.1, 1.7]), np.array([0.2, 0.5, 0.3])
    point = np.concatenate([z, t])

    def first(x):
        loss, zs, ts = softmax_ce_of(x[:3], x[3:])
        loss.backward()
        return np.array([v.grad for v in zs + ts])

    h = 1e-6
    numeric = np.array(
        [(first(point + h * e) - first(point - h * e)) / (2 * h) for e in np.eye(6)]
    ).T
    s = np_softmax(z)
    closed = np.block([[t.sum() * (np.diag(s) - np.outer(s, s)), s[:, None] - np.eye(3)]])
    for i in range(3):
        loss, zs, ts = softmax_ce_of(z, t)
        loss.backward(create_graph=True)
        slope = zs[i].grad
        for leaf in zs + ts:
            leaf.grad = 0.0
        slope.backward()
        row = [v.grad for v in zs + ts]
        np.testing.assert_allclose(row, numeric[i], atol=1e-8)
        np.testing.assert_allclose(row, closed[i], atol=1e-14)


def test_softmax_ce_is_written_with_its_logits_then_its_weights():
    op = autodiff.ops.SOFTMAX_CE
    names = ["z1", "z2", "t1", "t2"]
    assert op.expression(names) == "softmax_ce(z1, z2; t1, t2)"
    assert op.describe(0, names, "L") == (
        "exp(z1 - logsumexp(z1, z2))·(t1 + t2) - t1",
        r"e^{z1 - \operatorname{logsumexp}\left(z1, z2\right)} \left(t1 + t2\right) - t1",
    )
    assert op.describe(3, names, "L")[0] == "logsumexp(z1, z2) - z2"


@pytest.mark.parametrize(
    ("logits", "targets", "fragment"),
    [
        ([], [], "logits must hold at least one number (got none)"),
        ([1.0, 2.0], [1.0], "targets must be one weight per logit, 2 (got 1 targets for 2"),
    ],
)
def test_softmax_ce_refuses_missing_logits_and_unpaired_weights(logits, targets, fragment):
    with pytest.raises(ValueError) as error:
        autodiff.softmax_ce([Value(z) for z in logits], targets)
    assert str(error.value).startswith("softmax_ce: ")
    assert fragment in str(error.value)
