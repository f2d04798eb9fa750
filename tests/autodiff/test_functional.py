"""no_grad (per thread, per task) and gradcheck (passes on right rules, names the wrong ones)."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import re
import threading

import numpy as np
import pytest

from autodiff import GradcheckError, Value, grad, gradcheck, gradients, no_grad, ops, trace
from autodiff.value import apply

# ---- no_grad ----


def test_values_made_inside_no_grad_have_no_parents_but_the_right_numbers():
    a, b = Value(2.0), Value(-3.0)
    with no_grad():
        c = a * b + a.exp()
        d = 1.0 - c.tanh()
    for node in (c, d):
        assert node.parents == ()
        assert node.op is None
    assert c.data == pytest.approx(-6.0 + math.exp(2.0))
    assert d.data == pytest.approx(1.0 - math.tanh(c.data))


def test_backward_from_a_no_grad_result_reaches_no_leaf():
    a = Value(2.0)
    with no_grad():
        c = a * a
    c.backward()
    assert a.grad == pytest.approx(0.0, abs=0.0)


def test_recording_resumes_after_no_grad_even_after_an_exception():
    a = Value(1.5)
    with pytest.raises(ZeroDivisionError), no_grad():
        _ = a / 0
    c = a * a
    assert c.parents == (a, a)


def test_nested_no_grad_keeps_recording_off_until_the_outer_block_ends():
    a = Value(1.0)
    with no_grad():
        with no_grad():
            pass
        inner = a + 1
    outer = a + 1
    assert inner.parents == ()
    assert outer.parents[0] is a


def test_no_grad_in_one_thread_does_not_stop_recording_in_another():
    entered, recorded = threading.Event(), threading.Event()
    made: dict[str, Value] = {}

    def worker() -> None:
        with no_grad():
            entered.set()
            recorded.wait(timeout=10)
            a = Value(2.0)
            made["worker"] = a * a

    thread = threading.Thread(target=worker)
    thread.start()
    assert entered.wait(timeout=10)
    x = Value(3.0)
    y = x * x  # made while the worker is inside no_grad
    recorded.set()
    thread.join(timeout=10)
    assert y.parents == (x, x)
    assert made["worker"].parents == ()


def test_a_thread_records_while_the_main_thread_is_inside_no_grad():
    made: dict[str, Value] = {}

    def worker() -> None:
        a = Value(2.0)
        made["worker"] = a * a

    with no_grad():
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(timeout=10)
        inside = Value(1.0) * 2
    assert len(made["worker"].parents) == 2
    assert inside.parents == ()


def test_no_grad_in_one_asyncio_task_does_not_leak_into_another():
    async def without_graph(gate: asyncio.Event) -> Value:
        with no_grad():
            await gate.wait()
            return Value(1.0) * 2

    async def with_graph(gate: asyncio.Event) -> Value:
        await asyncio.sleep(0)  # the other task is inside no_grad now
        out = Value(1.0) * 2
        gate.set()
        return out

    async def main() -> tuple[Value, Value]:
        gate = asyncio.Event()
        return await asyncio.gather(without_graph(gate), with_graph(gate))

    off, on = asyncio.run(main())
    assert off.parents == ()
    assert len(on.parents) == 2


# ---- gradcheck ----


@pytest.mark.parametrize(
    ("f", "inputs"),
    [
        (lambda x, y: x * y + x.sin(), [0.3, -1.2]),
        (lambda x, y: (x / y).tanh() * x.exp(), [1.1, 2.0]),
        (lambda x: x.log() ** 3, [2.5]),
        (lambda x, y, z: x**y + z.sigmoid() * z.softplus(), [1.7, 0.4, -0.6]),
        (lambda a, b: (a * a + b * b).sqrt().cos(), [0.6, -0.8]),
    ],
)
def test_gradcheck_passes_on_correct_functions(f, inputs):
    assert gradcheck(f, inputs) is True


# sin with the derivative of sin put where its derivative should be
WRONG_SIN = dataclasses.replace(ops.SIN, name="wrong_sin", local=lambda x, out: (out,))

MESSAGE = re.compile(
    r"input (\d+) \(x = (\S+)\): backward gives (\S+), finite differences give (\S+)"
)


def test_gradcheck_raises_on_a_wrong_rule_and_names_the_input_and_both_numbers():
    def f(a, b):
        return a * b + apply(WRONG_SIN, (b,))

    a, b = 0.5, 1.2
    with pytest.raises(GradcheckError) as info:
        gradcheck(f, [a, b])
    lines = MESSAGE.findall(str(info.value))
    assert [int(index) for index, *_ in lines] == [1]  # input 0 is right and not named
    _, x, analytic, numeric = lines[0]
    assert float(x) == pytest.approx(b)
    assert float(analytic) == pytest.approx(a + math.sin(b))  # what the wrong rule gives
    assert float(numeric) == pytest.approx(a + math.cos(b), rel=1e-6)  # the truth


def test_gradcheck_names_every_input_that_disagrees():
    def f(a, b):
        return apply(WRONG_SIN, (a * b,))

    with pytest.raises(GradcheckError) as info:
        gradcheck(f, [0.4, 0.9])
    assert sorted(int(m[0]) for m in MESSAGE.findall(str(info.value))) == [0, 1]


def test_gradcheck_catches_a_small_error_in_a_rule():
    slightly = dataclasses.replace(ops.EXP, name="exp_off", local=lambda x, out: (out * 1.001,))
    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(lambda x: apply(slightly, (x,)), [1.0])


def test_gradcheck_error_is_not_raised_for_a_rule_within_tolerance():
    # 1e-7 relative error is far inside rtol=1e-4
    close = dataclasses.replace(ops.EXP, name="exp_close", local=lambda x, out: (out * 1.0000001,))
    assert gradcheck(lambda x: apply(close, (x,)), [1.0]) is True


def test_gradcheck_respects_its_tolerances():
    off = dataclasses.replace(ops.EXP, name="exp_off", local=lambda x, out: (out * 1.01,))
    with pytest.raises(GradcheckError):
        gradcheck(lambda x: apply(off, (x,)), [0.0])
    assert gradcheck(lambda x: apply(off, (x,)), [0.0], atol=0.02, rtol=0.0) is True


def test_gradcheck_leaves_recording_on_afterwards():
    gradcheck(lambda x: x * x, [1.0])
    a = Value(1.0)
    assert (a * a).parents == (a, a)


def test_gradcheck_of_a_function_returning_a_float_is_a_type_error():
    with pytest.raises(TypeError, match="gradcheck"):
        gradcheck(lambda x: 1.0, [1.0])


@pytest.mark.parametrize("bad", ["1.0", None, float("nan")])
def test_gradcheck_rejects_bad_inputs_naming_the_input(bad):
    with pytest.raises((TypeError, ValueError), match="gradcheck: input 1"):
        gradcheck(lambda x, y: x * y, [1.0, bad])


def test_argnums_may_be_a_numpy_integer():
    assert grad(lambda x, y: x * y, argnums=np.int64(1))(2.0, 3.0) == pytest.approx(2.0)
    dx, dy = grad(lambda x, y: x * y, argnums=(np.int32(0), 1))(2.0, 3.0)
    assert (dx, dy) == (pytest.approx(3.0), pytest.approx(2.0))


@pytest.mark.parametrize(("option", "bad"), [("eps", 0.0), ("eps", -1e-6), ("atol", -1.0)])
def test_gradcheck_refuses_a_non_positive_step_or_negative_tolerance(option, bad):
    with pytest.raises(ValueError, match=f"gradcheck: {option}"):
        gradcheck(lambda x: x * x, [1.0], **{option: bad})


# ---- gradients of chosen nodes, and mistakes inside a trace ----


def test_gradients_refuses_a_number_where_a_value_is_asked_for():
    x = Value(2.0)
    y = x * x
    with pytest.raises(TypeError, match=r"gradients: wrt\[1\] must be a Value \(got float 3\.0\)"):
        gradients(y, [x, 3.0])  # silently gave [4.0, 0.0] before


def test_gradients_refuses_a_root_that_is_not_a_value():
    with pytest.raises(TypeError, match=r"gradients: root must be a Value \(got float 2\.0\)"):
        gradients(2.0, [Value(1.0)])


@pytest.mark.parametrize("inputs", [None, 3.0, "12"])
def test_gradcheck_refuses_inputs_that_are_not_a_sequence_of_numbers(inputs):
    with pytest.raises(TypeError, match=r"gradcheck: inputs must be a sequence of numbers"):
        gradcheck(lambda x: x * x, inputs)


def test_no_grad_inside_trace_says_trace_must_record_every_op():
    def fn(x):
        with no_grad():
            return x * 2.0

    with pytest.raises(RuntimeError, match=r"no_grad: not available inside trace\(\)"):
        trace(fn, 1)


def test_backward_inside_trace_points_to_tape_backward():
    def fn(x):
        y = x * 2.0
        y.backward()
        return y

    with pytest.raises(RuntimeError, match=r"backward: not available inside trace\(\).*Tape"):
        trace(fn, 1)


def test_backward_on_known_numbers_inside_trace_still_works():
    w = Value(3.0)

    def fn(x):
        scale = w * w  # the weights' own numbers are known while tracing
        scale.backward()
        return x * scale

    tape = trace(fn, 1)
    assert w.grad == 6.0
    np.testing.assert_allclose(tape.forward(np.array([[2.0]])), [18.0])
