"""Gradients of gradients: grad(grad(f)), mixed partials, create_graph, argnums, value_and_grad."""

from __future__ import annotations

import math

import pytest

from autodiff import Value, grad, value_and_grad


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# name: (f on Values, closed-form f'', points)
SECOND = {
    "x^3": (lambda x: x**3, lambda x: 6 * x, [-1.5, 0.0, 2.0]),
    "x^4-2x^2+x": (lambda x: x**4 - 2 * x**2 + x, lambda x: 12 * x**2 - 4, [-1.0, 0.3, 2.5]),
    "x*x*x via products": (lambda x: x * x * x, lambda x: 6 * x, [-1.5, 0.0, 2.0]),
    "1/x": (lambda x: 1 / x, lambda x: 2 / x**3, [-2.0, 0.5, 3.0]),
    "x^-2.5": (lambda x: x**-2.5, lambda x: 2.5 * 3.5 * x**-4.5, [0.5, 1.0, 3.0]),
    "exp": (lambda x: x.exp(), math.exp, [-1.0, 0.0, 2.0]),
    "exp(x^2)": (
        lambda x: (x * x).exp(),
        lambda x: (2 + 4 * x**2) * math.exp(x**2),
        [-1.0, 0.0, 0.7],
    ),
    "log": (lambda x: x.log(), lambda x: -1 / x**2, [0.2, 1.0, 5.0]),
    "tanh": (
        lambda x: x.tanh(),
        lambda x: -2 * math.tanh(x) / math.cosh(x) ** 2,
        [-1.3, 0.0, 0.4, 2.0],
    ),
    "sigmoid": (
        lambda x: x.sigmoid(),
        lambda x: sigmoid(x) * (1 - sigmoid(x)) * (1 - 2 * sigmoid(x)),
        [-2.0, 0.0, 0.9],
    ),
    "sin": (lambda x: x.sin(), lambda x: -math.sin(x), [-2.0, 0.5, 3.0]),
    "cos": (lambda x: x.cos(), lambda x: -math.cos(x), [-2.0, 0.5, 3.0]),
    "sqrt": (lambda x: x.sqrt(), lambda x: -0.25 * x**-1.5, [0.25, 1.0, 4.0]),
    "softplus": (
        lambda x: x.softplus(),
        lambda x: math.exp(-x) / (1 + math.exp(-x)) ** 2,
        [-2.0, 0.0, 1.5],
    ),
    "relu (piecewise linear)": (lambda x: x.relu() * 3, lambda x: 0.0, [-1.0, 2.0]),
    "x^y in x, y=2.5": (lambda x: x ** Value(2.5), lambda x: 2.5 * 1.5 * x**0.5, [0.5, 2.0]),
    "x^y in y, x=3": (
        lambda y: Value(3.0) ** y,
        lambda y: 3.0**y * math.log(3.0) ** 2,
        [-1.0, 0.5, 2.0],
    ),
    "2^x (rpow)": (lambda x: 2**x, lambda x: 2.0**x * math.log(2.0) ** 2, [-1.0, 0.0, 3.0]),
    "x^x": (
        lambda x: x**x,
        lambda x: x**x * ((math.log(x) + 1) ** 2 + 1 / x),
        [0.5, 1.0, 2.0],
    ),
}
SECOND_CASES = [
    pytest.param(f, f2, x, id=f"{name}@{x:g}")
    for name, (f, f2, points) in SECOND.items()
    for x in points
]


@pytest.mark.parametrize(("f", "f2", "x"), SECOND_CASES)
def test_grad_of_grad_is_the_second_derivative(f, f2, x):
    got = grad(grad(f))(x)
    assert isinstance(got, float)
    assert got == pytest.approx(f2(x), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("x", [-0.8, 0.0, 0.3, 1.7])
def test_third_derivative_of_tanh(x):
    # tanh''' = -2 sech²(x) (1 - 3 tanh²(x))
    expected = -2 / math.cosh(x) ** 2 * (1 - 3 * math.tanh(x) ** 2)
    assert grad(grad(grad(lambda v: v.tanh())))(x) == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("x", [-1.2, 0.5, 2.0])
def test_third_and_fourth_derivatives_of_x_times_sin_x(x):
    # (x sin x)''' = -3 sin x - x cos x; '''' = -4 cos x + x sin x
    f = lambda v: v * v.sin()  # noqa: E731 -- a one-line function of a Value reads best inline
    assert grad(grad(grad(f)))(x) == pytest.approx(-3 * math.sin(x) - x * math.cos(x))
    assert grad(grad(grad(grad(f))))(x) == pytest.approx(-4 * math.cos(x) + x * math.sin(x))


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("x", [-1.5, 0.5, 2.0])
def test_every_derivative_of_x_to_the_n_up_to_and_past_order_n(n, x):
    f = lambda v: v**n  # noqa: E731
    for k in range(1, n + 2):
        f = grad(f)
        expected = math.perm(n, k) * x ** (n - k) if k <= n else 0.0
        assert f(x) == pytest.approx(expected, rel=1e-12, abs=1e-12), k


@pytest.mark.parametrize(
    ("f", "order", "expected"),
    [
        pytest.param(lambda v: v**0, 1, 0.0, id="x^0 order 1"),
        pytest.param(lambda v: v**1, 2, 0.0, id="x^1 order 2"),
        pytest.param(lambda v: v**2, 3, 0.0, id="x^2 order 3"),
    ],
)
def test_derivatives_of_powers_at_zero_past_their_degree_are_zero(f, order, expected):
    """d/dx x^0 = 0 everywhere, so every derivative of a polynomial at 0 exists (PyTorch: 0)."""
    for _ in range(order):
        f = grad(f)
    assert f(0.0) == pytest.approx(expected, abs=1e-12)


def test_mixed_partial_via_grad_of_grad_with_argnums():
    # f = x² y³ + sin(xy): ∂²f/∂x∂y = 6 x y² + cos(xy) - xy sin(xy)
    def f(x, y):
        return x**2 * y**3 + (x * y).sin()

    x, y = 0.7, -1.3
    expected = 6 * x * y**2 + math.cos(x * y) - x * y * math.sin(x * y)
    assert grad(grad(f, argnums=0), argnums=1)(x, y) == pytest.approx(expected)
    assert grad(grad(f, argnums=1), argnums=0)(x, y) == pytest.approx(expected)


def test_mixed_partials_of_x_to_the_y():
    # ∂²(x^y)/∂x∂y = x^(y-1) (1 + y ln x)
    def f(x, y):
        return x**y

    x, y = 1.8, 0.6
    expected = x ** (y - 1) * (1 + y * math.log(x))
    assert grad(grad(f, argnums=0), argnums=1)(x, y) == pytest.approx(expected)
    assert grad(grad(f, argnums=1), argnums=1)(x, y) == pytest.approx(x**y * math.log(x) ** 2)


def test_hessian_row_with_a_tuple_of_argnums():
    # f = x² y + e^y: ∂f/∂x = 2xy, whose gradient in (x, y) is (2y, 2x)
    def f(x, y):
        return x**2 * y + y.exp()

    row = grad(grad(f, argnums=0), argnums=(0, 1))(1.5, -0.5)
    assert isinstance(row, tuple)
    assert row == pytest.approx((2 * -0.5, 2 * 1.5))


def test_backward_create_graph_gives_value_grads_that_differentiate_again():
    x = Value(1.5)
    y = x**3 + x.sin()
    y.backward(create_graph=True)
    g = x.grad
    assert isinstance(g, Value)
    assert g.data == pytest.approx(3 * 1.5**2 + math.cos(1.5))
    assert g.parents  # a node with its own graph, not a constant
    x.grad = 0.0
    g.backward()
    assert x.grad == pytest.approx(6 * 1.5 - math.sin(1.5))


def test_create_graph_then_backward_on_the_grad_accumulates_like_pytorch():
    # torch: after y.backward(create_graph=True), g = x.grad; g.backward() adds g' to x.grad
    x = Value(0.8)
    y = x.exp() * x
    y.backward(create_graph=True)
    g = x.grad
    g.backward()
    first = math.exp(0.8) * (1 + 0.8)
    second = math.exp(0.8) * (2 + 0.8)
    assert x.grad.data == pytest.approx(first + second)


def test_create_graph_intermediate_grads_are_values_too():
    a, b = Value(0.4), Value(2.0)
    s = a * b
    out = s.tanh()
    out.backward(create_graph=True)
    assert isinstance(s.grad, Value)
    assert isinstance(b.grad, Value)
    assert s.grad.data == pytest.approx(1 / math.cosh(0.8) ** 2)
    assert b.grad.data == pytest.approx(0.4 / math.cosh(0.8) ** 2)


def test_create_graph_through_linear_and_sum_values():
    from autodiff import linear, sum_values

    x = Value(1.1)
    y = sum_values([linear([x, x], [x, 3.0], 0.5), x * x])  # 2x² + 3x + 0.5
    y.backward(create_graph=True)
    g = x.grad
    assert g.data == pytest.approx(4 * 1.1 + 3)
    x.grad = 0.0
    g.backward()
    assert x.grad == pytest.approx(4.0)


# ---- argnums and value_and_grad ----


def f_xyz(x, y, z):
    return x * y**2 + z.exp() * x


def test_grad_with_tuple_argnums_returns_a_tuple_of_floats_in_the_order_asked():
    x, y, z = 1.5, -2.0, 0.3
    dx, dy, dz = y**2 + math.exp(z), 2 * x * y, math.exp(z) * x
    both = grad(f_xyz, argnums=(2, 0))(x, y, z)
    assert isinstance(both, tuple)
    assert all(isinstance(g, float) for g in both)
    assert both == pytest.approx((dz, dx))
    assert grad(f_xyz, argnums=(0, 1, 2))(x, y, z) == pytest.approx((dx, dy, dz))
    assert grad(f_xyz, argnums=1)(x, y, z) == pytest.approx(dy)
    assert grad(f_xyz, argnums=-1)(x, y, z) == pytest.approx(dz)
    assert grad(f_xyz, argnums=(1,))(x, y, z) == pytest.approx((dy,))


def test_grad_defaults_to_the_first_argument():
    assert grad(f_xyz)(1.5, -2.0, 0.3) == pytest.approx(4.0 + math.exp(0.3))


def test_value_and_grad_returns_the_value_and_the_gradient():
    value, g = value_and_grad(lambda x: x.log() * x)(2.5)
    assert isinstance(value, float)
    assert value == pytest.approx(math.log(2.5) * 2.5)
    assert g == pytest.approx(math.log(2.5) + 1)


def test_value_and_grad_with_tuple_argnums():
    value, (dx, dy) = value_and_grad(lambda x, y: x / y, argnums=(0, 1))(3.0, 4.0)
    assert value == pytest.approx(0.75)
    assert (dx, dy) == pytest.approx((0.25, -3.0 / 16.0))


def test_grad_of_a_function_that_ignores_its_argument_is_zero():
    assert grad(lambda x, y: y * 2, argnums=0)(1.0, 2.0) == pytest.approx(0.0, abs=0.0)
    assert grad(lambda x: x)(5.0) == pytest.approx(1.0)
    assert grad(grad(lambda x: x * 3))(5.0) == pytest.approx(0.0, abs=0.0)


def test_grad_accepts_ints_and_numpy_scalars():
    import numpy as np

    assert grad(lambda x: x * x)(3) == pytest.approx(6.0)
    assert grad(lambda x: x * x)(np.float32(1.5)) == pytest.approx(3.0)


@pytest.mark.parametrize("argnums", [3, -4, (0, 5)])
def test_grad_with_argnums_out_of_range_is_a_value_error(argnums):
    with pytest.raises(ValueError, match=r"argnums .*3 arguments"):
        grad(f_xyz, argnums=argnums)(1.0, 2.0, 3.0)


def test_grad_of_a_function_returning_a_float_is_a_type_error():
    with pytest.raises(TypeError, match=r"must return a Value.*float"):
        grad(lambda x: 2.0)(1.0)


def test_grad_leaves_the_callers_values_grads_alone():
    w = Value(2.0)
    assert grad(lambda x: x * w)(3.0) == pytest.approx(2.0)
    assert w.grad == pytest.approx(0.0, abs=0.0)
