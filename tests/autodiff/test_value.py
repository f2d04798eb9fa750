"""Value at the boundary: what data it accepts, every bad input's error, repr, the public names."""

from __future__ import annotations

import math
import operator
import sys

import numpy as np
import pytest

import autodiff
from autodiff import Value, linear, sum_values, topological_order

# ---- accepted data ----


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (3, 3.0),
        (-2.5, -2.5),
        (np.float32(0.25), 0.25),
        (np.float64(-1.5), -1.5),
        (np.int64(7), 7.0),
        (np.int8(-3), -3.0),
        (np.uint16(9), 9.0),
        (np.array(2.5), 2.5),
        (np.array(4, dtype=np.int32), 4.0),
    ],
    ids=lambda v: f"{type(v).__name__}({v})",
)
def test_data_is_stored_as_a_python_float(data, expected):
    v = Value(data)
    assert type(v.data) is float
    assert v.data == pytest.approx(expected, abs=0.0)
    assert type(v.grad) is float
    assert v.label == ""


def test_float32_data_keeps_its_float32_value():
    assert Value(np.float32(0.1)).data == pytest.approx(float(np.float32(0.1)), abs=0.0)


ARITHMETIC = [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow]


@pytest.mark.parametrize("number", [np.float64(2.0), np.float32(2.0), np.int64(2)])
@pytest.mark.parametrize("op", ARITHMETIC)
def test_numpy_scalars_on_either_side_of_an_operator(number, op):
    x = Value(8.0)
    for out, expected in ((op(x, number), op(8.0, 2.0)), (op(number, x), op(2.0, 8.0))):
        assert isinstance(out, Value)
        assert type(out.data) is float
        assert out.data == pytest.approx(expected)


def test_zero_d_array_operand_on_the_right_is_accepted_as_it_is_as_data():
    """Value(np.array(2.0)) and np.array(2.0) + Value(8.0) work; Value(8.0) + np.array(2.0) too."""
    for op in ARITHMETIC:
        out = op(Value(8.0), np.array(2.0))
        assert isinstance(out, Value)
        assert out.data == pytest.approx(op(8.0, 2.0))


# ---- bad data ----


@pytest.mark.parametrize(
    "data",
    ["abc", "3", None, [1.0], (1.0,), 1j, np.array([1.0, 2.0]), {"x": 1.0}],
    ids=["str", "numeric str", "None", "list", "tuple", "complex", "1-d array", "dict"],
)
def test_non_number_data_is_a_type_error_saying_what_came(data):
    with pytest.raises(TypeError) as info:
        Value(data, label="w")
    message = str(info.value)
    assert message.startswith("Value: expected a real number")
    assert type(data).__name__ in message


@pytest.mark.parametrize(
    "data", [math.nan, math.inf, -math.inf, np.float64("nan"), np.float32("inf"), np.array(np.nan)]
)
def test_nan_and_inf_data_are_value_errors_naming_the_label(data):
    with pytest.raises(ValueError, match="finite") as info:
        Value(data, label="w1")
    message = str(info.value)
    assert message.startswith("Value:")
    assert str(float(data)) in message
    assert "'w1'" in message


def test_int_too_large_for_a_float_is_an_error_naming_value():
    with pytest.raises((OverflowError, ValueError)) as info:
        Value(10**400, label="big")
    assert str(info.value).startswith("Value:")


@pytest.mark.parametrize("label", [3, None, b"a1", ["a"]])
def test_a_label_that_is_not_a_str_is_a_type_error(label):
    with pytest.raises(TypeError, match=r"label must be a str") as info:
        Value(1.0, label=label)
    assert type(label).__name__ in str(info.value)


# ---- bad operands ----

OPERATORS = [
    ("add", operator.add),
    ("sub", operator.sub),
    ("mul", operator.mul),
    ("div", operator.truediv),
    ("pow", operator.pow),
]


@pytest.mark.parametrize("bad", ["2", None, [1.0], True])
@pytest.mark.parametrize(("name", "op"), OPERATORS)
def test_bad_operand_on_the_right_is_a_type_error_naming_the_op(name, op, bad):
    with pytest.raises(TypeError) as info:
        op(Value(2.0), bad)
    message = str(info.value)
    assert message.startswith(f"{name}: expected a number or a Value")
    assert type(bad).__name__ in message


@pytest.mark.parametrize("bad", ["2", None])
@pytest.mark.parametrize(("name", "op"), OPERATORS)
def test_bad_operand_on_the_left_is_a_type_error_naming_the_op(name, op, bad):
    with pytest.raises(TypeError) as info:
        op(bad, Value(2.0))
    name = "rpow" if name == "pow" else name  # number ** Value is an op of its own
    assert str(info.value).startswith(f"{name}: expected a number or a Value")


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("linear", lambda: linear([Value(1.0)], ["x"], 0.0)),
        ("linear", lambda: linear([Value(1.0)], [Value(1.0)], None)),
        ("sum", lambda: sum_values([Value(1.0), None])),
    ],
)
def test_bad_operands_of_other_ops_are_type_errors_naming_the_op(name, call):
    with pytest.raises(TypeError, match=f"^{name}: expected a number or a Value"):
        call()


# ---- off an op's domain or out of float range ----


def test_log_of_a_negative_number_is_a_value_error_with_op_value_and_label():
    with pytest.raises(ValueError) as info:
        Value(-1.0, label="a1").log()
    assert str(info.value) == "log: expected x > 0, got -1.0 (label 'a1')"


def test_log_of_zero_is_a_value_error():
    with pytest.raises(ValueError, match=r"^log: .*got 0\.0 \(label 'z'\)"):
        Value(0.0, label="z").log()


def test_sqrt_of_a_negative_number_is_a_value_error():
    with pytest.raises(ValueError, match=r"^sqrt: .*got -4\.0 \(label 's'\)"):
        Value(-4.0, label="s").sqrt()


@pytest.mark.parametrize(
    "call",
    [
        lambda: Value(1.0) / Value(0.0, label="d"),
        lambda: Value(1.0) / 0,
        lambda: 1.0 / Value(0.0, label="d"),
    ],
)
def test_division_by_zero_is_a_zero_division_error(call):
    with pytest.raises(ZeroDivisionError, match=r"^div: expected a nonzero divisor, got 0\.0"):
        call()


def test_division_by_a_labelled_zero_names_the_label():
    with pytest.raises(ZeroDivisionError, match=r"\(label 'd'\)"):
        Value(1.0) / Value(0.0, label="d")


def test_exp_overflow_is_an_overflow_error_naming_op_input_and_label():
    with pytest.raises(OverflowError) as info:
        Value(1000.0, label="z").exp()
    message = str(info.value)
    assert message.startswith("exp:")
    assert "1000.0" in message
    assert "'z'" in message


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("pow", lambda: Value(10.0, label="base") ** 400),
        ("rpow", lambda: 10.0 ** Value(400.0, label="base")),
        ("pow_value", lambda: Value(10.0, label="base") ** Value(400.0)),
        ("mul", lambda: Value(1e200, label="base") * Value(1e200)),
        ("mul", lambda: Value(1e200, label="base") * 1e200),
        ("add", lambda: Value(1.7e308, label="base") + 1.7e308),
        ("sub", lambda: Value(-1.7e308, label="base") - 1.7e308),
        ("div", lambda: Value(1e300, label="base") / 1e-300),
        ("sum", lambda: sum_values([Value(1e308, label="base"), 1e308])),
        ("linear", lambda: linear([Value(1e200, label="base")], [1e200])),
    ],
)
def test_overflow_is_an_overflow_error_naming_the_op(name, call):
    with pytest.raises(OverflowError) as info:
        call()
    message = str(info.value)
    assert message.startswith(f"{name}:")
    assert "'base'" in message


@pytest.mark.parametrize("exponent", [-1, -2.0, -0.5])
def test_zero_to_a_negative_power_is_a_zero_division_error(exponent):
    with pytest.raises(ZeroDivisionError) as info:
        Value(0.0, label="z") ** exponent
    message = str(info.value)
    assert message.startswith("pow:")
    assert "got 0.0 (label 'z')" in message


@pytest.mark.parametrize("exponent", [0.5, 1 / 3, -1.5])
def test_negative_base_with_non_integer_exponent_is_a_value_error(exponent):
    with pytest.raises(ValueError) as info:
        Value(-8.0, label="b") ** exponent
    message = str(info.value)
    assert message.startswith("pow:")
    assert "got -8.0 (label 'b')" in message


@pytest.mark.parametrize(("base", "exponent"), [(-2.0, 2.0), (-2.0, 0.5), (0.0, -1.0), (0.0, 0.0)])
def test_value_exponent_needs_a_positive_base(base, exponent):
    with pytest.raises(ValueError, match=r"^pow_value: .*positive base") as info:
        Value(base, label="b") ** Value(exponent)
    assert f"got {base!r} (label 'b')" in str(info.value)


def test_errors_in_backward_name_the_op():
    x = Value(0.0, label="x")
    y = x.sqrt()  # value 0, slope 1/(2·0)
    with pytest.raises(ZeroDivisionError, match="sqrt"):
        y.backward()


BACKWARD_OVERFLOWS = [
    pytest.param(lambda x: 1 / x, 1e-200, id="1/x at 1e-200"),
    pytest.param(lambda x: 1 / x - 1 / x, 1e-200, id="1/x - 1/x at 1e-200"),
    pytest.param(lambda x: x.sqrt() * 1e200, 1e-300, id="1e200 sqrt(x) at 1e-300"),
]


@pytest.mark.parametrize(("build", "x"), BACKWARD_OVERFLOWS)
def test_a_gradient_too_large_for_a_float_is_an_overflow_error_naming_the_leaf(build, x):
    leaf = Value(x, label="x")
    out = build(leaf)
    assert math.isfinite(out.data)
    with pytest.raises(OverflowError, match="not finite") as info:
        out.backward()
    assert "(label 'x')" in str(info.value)


FAILING_BACKWARDS = [
    *BACKWARD_OVERFLOWS,
    pytest.param(lambda x: x.sqrt() + x, 0.0, id="sqrt(x) + x at 0"),
]


def failed_backward(build, x):
    """Run a backward that raises on a graph whose grads were not all zero; return the nodes
    with the grads they had before the call."""
    leaf = Value(x, label="x")
    out = build(leaf)
    nodes = topological_order(out)
    for k, node in enumerate(nodes):
        node.grad = 0.25 * (k + 1)
    before = [node.grad for node in nodes]
    with pytest.raises(ArithmeticError):
        out.backward()
    return nodes, before


@pytest.mark.parametrize(("build", "x"), FAILING_BACKWARDS)
def test_a_failed_backward_leaves_no_inf_or_nan_in_any_grad(build, x):
    nodes, _ = failed_backward(build, x)
    assert all(math.isfinite(node.grad) for node in nodes), [node.grad for node in nodes]


@pytest.mark.parametrize(("build", "x"), FAILING_BACKWARDS)
def test_a_failed_backward_leaves_every_grad_as_it_was(build, x):
    """As gradients() does: an error must not leave half an accumulation behind."""
    nodes, before = failed_backward(build, x)
    assert [node.grad for node in nodes] == pytest.approx(before)


# ---- repr ----


@pytest.mark.parametrize(
    ("data", "grad", "label", "expected"),
    [
        (0.57441234, -0.0003, "a1", "Value(data=0.5744, grad=-0.0003, label='a1')"),
        (2, 0.0, "", "Value(data=2.0, grad=0.0)"),
        (-3.14159, 1.0, "x", "Value(data=-3.142, grad=1.0, label='x')"),
        (12345.678, 0.000123456, "", "Value(data=1.235e+04, grad=0.0001235)"),
        (1e-8, -2.5e7, "", "Value(data=1e-08, grad=-2.5e+07)"),
        (100.0, 10.0, "", "Value(data=100.0, grad=10.0)"),
    ],
)
def test_repr_shows_four_significant_digits_and_the_label(data, grad, label, expected):
    v = Value(data, label=label)
    v.grad = grad
    assert repr(v) == expected


def test_repr_of_a_create_graph_grad_shows_its_number():
    x = Value(2.0, label="x")
    (x * x * x).backward(create_graph=True)
    assert repr(x) == "Value(data=2.0, grad=12.0, label='x')"


# ---- never NaN, and the public names ----


@pytest.mark.parametrize("x", [-1e308, -710.0, -1.0, -1e-300, 0.0, 1e-300, 1.0, 710.0, 1e308])
@pytest.mark.parametrize(
    "method",
    ["exp", "log", "tanh", "sigmoid", "relu", "sqrt", "abs", "sin", "cos", "softplus", "__neg__"],
)
def test_unary_ops_at_extremes_give_a_finite_float_or_raise(method, x):
    off_domain = (method == "log" and x <= 0) or (method == "sqrt" and x < 0)
    overflows = method == "exp" and x > math.log(sys.float_info.max)
    if off_domain or overflows:
        with pytest.raises(ValueError if off_domain else OverflowError, match=f"^{method}: "):
            getattr(Value(x), method)()
    else:
        out = getattr(Value(x), method)()
        assert type(out.data) is float and math.isfinite(out.data)


def test_all_pins_the_contract_names():
    contract = {"Value", "grad", "value_and_grad", "no_grad", "gradcheck", "GradcheckError"}
    assert contract <= set(autodiff.__all__)
    for name in autodiff.__all__:
        assert hasattr(autodiff, name), name
    assert len(set(autodiff.__all__)) == len(autodiff.__all__)


def test_extra_public_names_are_exported():
    extras = {"linear", "sum_values", "gradients", "topological_order", "local_derivatives", "OPS"}
    assert extras <= set(autodiff.__all__)


def test_clamp_has_slope_one_on_its_bounds_and_zero_beyond_as_torch():
    for x, expected in [(-1.0, 0.0), (-0.5, 1.0), (0.2, 1.0), (0.7, 1.0), (0.9, 0.0)]:
        v = Value(x)
        v.clamp(-0.5, 0.7).backward()
        assert v.grad == expected, x


@pytest.mark.parametrize(
    "make", [lambda x: x.leaky_relu(Value(0.1)), lambda x: x.clamp(Value(0.0), 1.0)]
)
def test_a_value_as_a_fixed_parameter_is_refused(make):
    with pytest.raises(TypeError, match="must be a plain number"):
        make(Value(0.5))


def test_clamp_bounds_in_the_wrong_order_are_refused():
    with pytest.raises(ValueError, match=r"clamp: expected lo <= hi"):
        Value(0.5).clamp(1.0, 0.0)


def test_integer_operands_are_exact_and_large_ones_still_checked():
    assert (Value(0.5) * 3).data == 1.5
    assert (Value(1.0) + 2**53).data == float(2**53 + 1)
    with pytest.raises(OverflowError, match="too large"):
        Value(1.0) * 10**400


def test_an_overflow_message_lists_a_few_inputs_and_counts_the_rest():
    with pytest.raises(OverflowError) as info:
        sum_values([Value(1e308, "big")] * 50)
    assert "(46 more)" in str(info.value)
    assert len(str(info.value)) < 300


def test_an_int_beyond_pythons_digit_limit_gets_a_message_of_its_own():
    # 10**5000 has more digits than str() may write: the message must not fail while being built
    with pytest.raises(OverflowError, match=r"^Value: an int of about 500[01] digits is too large"):
        Value(10**5000)


def test_micrograds_constructor_form_points_to_the_readme_section():
    a, b = Value(1.0), Value(2.0)
    for call in (lambda: Value(3.0, (a, b), "+"), lambda: Value(3.0, (a, b))):
        with pytest.raises(TypeError, match="Coming from micrograd"):
            call()


# ---- micrograd's node attributes, so the lecture's manual backpropagation runs as written ----


def test_prev_is_the_set_of_parents_and_op_the_symbol():
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    assert c._prev == {a, b}
    assert (a * a)._prev == {a}  # a set, as micrograd's: .parents keeps (a, a)
    assert c._op == "*" and c.tanh()._op == "tanh" and a._op == ""


def test_backward_of_one_node_is_its_own_chain_rule_step_only():
    a, b, c = Value(2.0), Value(-3.0), Value(10.0)
    e = a * b
    d = e + c
    d.grad = 1.0
    d._backward()
    assert (e.grad, c.grad, a.grad) == (1.0, 1.0, 0.0)  # one step: nothing reaches a yet
    e._backward()
    assert (a.grad, b.grad) == (-3.0, 2.0)  # d(ab)/da = b, d(ab)/db = a
    a._backward()  # a leaf: nothing to pass on
    assert a.grad == -3.0


def test_backward_of_a_node_using_one_parent_twice_counts_both_uses():
    a = Value(3.0)
    square = a * a
    square.grad = 1.0
    square._backward()
    assert a.grad == 6.0  # 2a; micrograd's set of children would give 3


# ---- number ** Value is an op of its own: the base is a fixed number, never differentiated ----


@pytest.mark.parametrize("y", [0.5, 1.0, 2.0])
def test_zero_to_a_positive_value_power_has_derivative_zero(y):
    exponent = Value(y)
    out = 0.0**exponent
    out.backward()  # raised ZeroDivisionError for y < 1 when the base's slope was computed
    assert out.data == 0.0
    assert exponent.grad == 0.0  # d(0^y)/dy = 0^y log 0 -> 0 for y > 0


@pytest.mark.parametrize(("c", "y"), [(2.0, 3.0), (0.5, -1.5), (math.e, 0.3)])
def test_number_to_a_value_power_has_derivative_c_to_the_y_times_log_c(c, y):
    exponent = Value(y)
    out = c**exponent
    out.backward()
    assert out.data == pytest.approx(c**y, rel=1e-15)
    assert exponent.grad == pytest.approx(c**y * math.log(c), rel=1e-14)
    assert out.parents[0] is exponent and out.op is autodiff.ops.RPOW


@pytest.mark.parametrize("slope", ["0.1", None, [0.1]])
def test_a_fixed_parameter_that_is_not_a_number_is_a_type_error_naming_it(slope):
    with pytest.raises(TypeError, match=r"^leaky_relu: slope must be a plain number, got"):
        Value(1.0).leaky_relu(slope)


@pytest.mark.parametrize("name", ["_children", "_grad_fn"])
def test_other_micrograd_style_internals_point_to_the_readme_section(name):
    with pytest.raises(AttributeError, match=f"'{name}'.*Coming from micrograd"):
        getattr(Value(1.0), name)


def test_an_unknown_public_attribute_is_a_plain_attribute_error():
    with pytest.raises(AttributeError, match=r"^'Value' object has no attribute 'dat'$"):
        Value(1.0).dat  # noqa: B018  # the access itself is what is tested


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_nan_set_by_hand_as_data_is_named_as_such_not_as_an_overflow(bad):
    w = Value(0.5, label="w")
    w.data = bad  # .data is a plain attribute: a user may put anything there
    with pytest.raises(
        ValueError, match=rf"^mul: expected finite inputs, got {bad!r} \(label 'w'\)"
    ):
        w * 2.0
