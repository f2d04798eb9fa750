"""The chain rule over graphs: fan-out, diamonds, accumulation, any depth, n-ary nodes."""

from __future__ import annotations

import dataclasses
import gc
import math
import random
import threading
import time

import pytest

import autodiff
from autodiff import (
    Value,
    collector_paused,
    gradient_map,
    gradients,
    linear,
    ops,
    sum_values,
    topological_order,
)
from autodiff.value import apply

# ---- one node reached along several paths: the sum over paths ----


def test_fan_out_square_a_times_a_counts_both_paths():
    a = Value(3.0)
    out = a * a
    out.backward()
    assert out.data == pytest.approx(9.0)
    assert a.grad == pytest.approx(6.0)  # d(a²)/da = 2a


def test_fan_out_a_plus_a_plus_a():
    a = Value(-1.5)
    (a + a + a).backward()
    assert a.grad == pytest.approx(3.0)


def test_fan_out_difference_of_squares():
    # f = (a+b)(a-b) = a² - b²: df/da = 2a, df/db = -2b
    a, b = Value(2.0), Value(-0.75)
    out = (a + b) * (a - b)
    out.backward()
    assert out.data == pytest.approx(2.0**2 - 0.75**2)
    assert a.grad == pytest.approx(4.0)
    assert b.grad == pytest.approx(1.5)


def test_diamond_one_input_two_branches_joined():
    # x -> u = exp(x), v = sin(x) -> f = u * v; df/dx = e^x sin x + e^x cos x
    x = Value(0.6)
    u, v = x.exp(), x.sin()
    out = u * v
    out.backward()
    assert x.grad == pytest.approx(math.exp(0.6) * (math.sin(0.6) + math.cos(0.6)))
    assert u.grad == pytest.approx(math.sin(0.6))
    assert v.grad == pytest.approx(math.exp(0.6))


def test_stacked_diamonds_double_the_gradient_at_each_level():
    # x -> (h + h) repeated 30 times is 2^30 x along 2^30 paths
    x = Value(0.5)
    h = x
    for _ in range(30):
        h = h * 1.0 + h
    h.backward()
    assert h.data == pytest.approx(0.5 * 2**30)
    assert x.grad == pytest.approx(2.0**30)


def test_shared_subexpression_used_at_different_depths():
    # s = a*b; f = s + tanh(s) * s; df/ds = 1 + sech²(s) s + tanh(s)
    a, b = Value(0.4), Value(-1.5)
    s = a * b
    out = s + s.tanh() * s
    out.backward()
    sv = 0.4 * -1.5
    dfds = 1 + sv / math.cosh(sv) ** 2 + math.tanh(sv)
    assert s.grad == pytest.approx(dfds)
    assert a.grad == pytest.approx(dfds * -1.5)
    assert b.grad == pytest.approx(dfds * 0.4)


def test_micrograd_readme_example_hand_derived():
    # the example from micrograd's README, with gradients derived by hand in the comments
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b  # -2
    d = a * b + b**3  # 0
    c += c + 1  # -3       (c2 = 2c + 1)
    c += 1 + c + (-a)  # -1  (c3 = 2c2 + 1 - a)
    d += d * 2 + (b + a).relu()  # 0 (relu of -2)
    d += 3 * d + (b - a).relu()  # 6
    e = c - d  # -7
    f = e**2  # 49
    g = f / 2.0  # 24.5
    g += 10.0 / f
    g.backward()
    assert g.data == pytest.approx(24.5 + 10.0 / 49.0)
    # dg/de = e - 20 e / f² ... with f = e²: g = e²/2 + 10/e², dg/de = e - 20/e³
    e_val = -7.0
    dg_de = e_val - 20.0 / e_val**3
    # c3 = 2(2(a+b)+1) + 1 - a = 3a + 4b + 3; d4 = 4(3(ab + b³)) + (b - a) for b+a<0<b-a
    dc_da, dc_db = 3.0, 4.0
    dd_da = 12.0 * 2.0 - 1.0  # 12 b - 1
    dd_db = 12.0 * (-4.0 + 3 * 2.0**2) + 1.0  # 12 (a + 3b²) + 1
    assert a.grad == pytest.approx(dg_de * (dc_da - dd_da))
    assert b.grad == pytest.approx(dg_de * (dc_db - dd_db))


def test_unrelated_leaf_keeps_grad_zero():
    a, b, spare = Value(1.0), Value(2.0), Value(3.0)
    (a * b).backward()
    assert spare.grad == pytest.approx(0.0, abs=0.0)


def test_grad_starts_at_zero_and_backward_seeds_the_root_with_one():
    a = Value(2.0)
    assert isinstance(a.grad, float)
    assert a.grad == pytest.approx(0.0, abs=0.0)
    out = a.exp()
    out.backward()
    assert out.grad == pytest.approx(1.0)


# ---- accumulation across calls, as in PyTorch ----


def test_two_backward_calls_double_every_leaf_gradient_exactly():
    a, b = Value(0.3), Value(-1.2)
    s = a * b
    out = (s + a).tanh() * s + b.exp()
    out.backward()
    first = (a.grad, b.grad)
    out.backward()
    # a second call must add the same amount, not re-propagate accumulated intermediate grads
    assert a.grad == pytest.approx(2 * first[0], rel=1e-15)
    assert b.grad == pytest.approx(2 * first[1], rel=1e-15)


def test_backward_of_two_roots_sharing_leaves_sums_their_gradients():
    a, b = Value(1.5), Value(-2.0)
    (a * b).backward()
    (a + b).backward()
    assert a.grad == pytest.approx(-2.0 + 1.0)
    assert b.grad == pytest.approx(1.5 + 1.0)


def test_backward_of_a_root_built_on_a_previous_root_accumulates_through_it():
    x = Value(2.0)
    y = x * x  # dy/dx = 4
    y.backward()
    z = y * 3.0  # dz/dx = 12
    z.backward()
    assert x.grad == pytest.approx(4.0 + 12.0)
    assert y.grad == pytest.approx(1.0 + 3.0)


def test_resetting_grads_then_backward_again_gives_the_single_call_result():
    a = Value(0.9)
    out = a.sin() * a
    out.backward()
    for node in topological_order(out):
        node.grad = 0.0
    out.backward()
    assert a.grad == pytest.approx(math.cos(0.9) * 0.9 + math.sin(0.9))


# ---- gradients(): the same numbers, leaving .grad alone ----


def test_gradients_returns_partials_and_leaves_every_grad_untouched():
    a, b = Value(0.5), Value(2.0)
    a.grad, b.grad = 10.0, -3.0
    s = a * b
    out = s * s + a  # (ab)² + a
    before = [node.grad for node in topological_order(out)]
    ga, gb = gradients(out, [a, b])
    assert ga == pytest.approx(2 * 0.5 * 2.0**2 + 1.0)
    assert gb == pytest.approx(2 * 0.5**2 * 2.0)
    assert [node.grad for node in topological_order(out)] == pytest.approx(before)
    assert (a.grad, b.grad) == pytest.approx((10.0, -3.0))


def test_gradients_of_a_value_outside_the_graph_is_zero():
    a, other = Value(1.0), Value(5.0)
    (ga, go) = gradients(a.exp(), [a, other])
    assert ga == pytest.approx(math.e)
    assert go == pytest.approx(0.0, abs=0.0)


def test_gradients_with_create_graph_returns_values_with_their_own_graph():
    x = Value(1.2)
    (g,) = gradients(x**3, [x], create_graph=True)
    assert isinstance(g, Value)
    assert g.data == pytest.approx(3 * 1.2**2)
    assert x.grad == pytest.approx(0.0, abs=0.0)
    (h,) = gradients(g, [x])
    assert h == pytest.approx(6 * 1.2)


# ---- depth: no recursion anywhere ----

DEPTH = 100_000


def test_chain_of_100000_tanh_steps_backpropagates_without_recursion_error():
    x0 = Value(0.3)
    x = x0
    chain = []
    for _ in range(DEPTH):
        x = (0.5 * x + 0.1).tanh()
        chain.append(x)
    x.backward()

    # independent floats: t_i = tanh(z_i), z_i = 0.5 t_{i-1} + 0.1, dt_i/dt_{i-1} = 0.5 sech²(z_i)
    t, factors = 0.3, []
    for _ in range(DEPTH):
        z = 0.5 * t + 0.1
        t = math.tanh(z)
        factors.append(0.5 / math.cosh(z) ** 2)
    assert x.data == pytest.approx(t, rel=1e-12)

    # d(root)/d(chain[k]) is the product of the factors after k; checked before it underflows
    product = 1.0
    for distance in range(1, DEPTH + 1):
        product *= factors[DEPTH - distance]
        if distance in (1, 10, 100, 500):
            node = chain[DEPTH - 1 - distance]
            assert node.grad == pytest.approx(product, rel=1e-9), distance
    assert math.isclose(x0.grad, product, rel_tol=1e-9, abs_tol=1e-300)
    # five nodes per step: the constants 0.5 and 0.1, a product, a sum, a tanh; plus x0
    assert len(topological_order(x)) == 5 * DEPTH + 1


# ---- topological order ----


def test_topological_order_puts_each_node_after_its_parents_and_root_last():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    e = d * c + b.exp()
    order = topological_order(e)
    position = {id(node): i for i, node in enumerate(order)}
    assert order[-1] is e
    assert len(position) == len(order)  # each node once, even when reached twice
    for node in order:
        for parent in node.parents:
            assert position[id(parent)] < position[id(node)]
    assert {id(n) for n in (a, b, c, d, e)} <= set(position)


# ---- n-ary nodes: linear and sum_values ----


def test_linear_value_and_gradients_match_closed_form():
    ws = [Value(0.5), Value(-1.0), Value(2.0)]
    xs = [Value(1.5), Value(0.25), Value(-0.5)]
    b = Value(0.1)
    out = linear(ws, xs, b)
    out.backward()
    assert out.parents[-1] is b
    assert out.data == pytest.approx(0.1 + 0.75 - 0.25 - 1.0)
    for w, x in zip(ws, xs, strict=True):
        assert w.grad == pytest.approx(x.data)
        assert x.grad == pytest.approx(w.data)
    assert b.grad == pytest.approx(1.0)


def test_linear_accepts_plain_numbers_and_defaults_bias_to_zero():
    x1, x2 = Value(3.0), Value(-2.0)
    out = linear([0.5, 4.0], [x1, x2])
    out.backward()
    assert out.data == pytest.approx(1.5 - 8.0)
    assert (x1.grad, x2.grad) == pytest.approx((0.5, 4.0))


def test_linear_with_the_same_value_as_weight_and_input_is_a_square():
    a = Value(1.7)
    out = linear([a, a], [a, 2.0], 1.0)  # a² + 2a + 1
    out.backward()
    assert out.data == pytest.approx((1.7 + 1) ** 2)
    assert a.grad == pytest.approx(2 * 1.7 + 2)


def test_linear_is_one_node():
    ws = [Value(1.0) for _ in range(50)]
    xs = [Value(2.0) for _ in range(50)]
    out = linear(ws, xs, 0.0)
    assert len(out.parents) == 101
    assert out.data == pytest.approx(100.0)


@pytest.mark.parametrize(("n_weights", "n_inputs"), [(2, 3), (4, 1), (0, 2)])
def test_linear_with_mismatched_lengths_names_both_lengths(n_weights, n_inputs):
    with pytest.raises(ValueError, match="linear") as info:
        linear([Value(1.0)] * n_weights, [Value(1.0)] * n_inputs, 0.0)
    message = str(info.value)
    assert f"{n_weights} weights" in message
    assert f"{n_inputs} inputs" in message


def test_sum_values_value_and_gradients_with_a_repeated_term():
    a, b = Value(1.25), Value(-4.0)
    out = sum_values([a, b, a, 2.0])
    out.backward()
    assert out.data == pytest.approx(1.25 - 4.0 + 1.25 + 2.0)
    assert a.grad == pytest.approx(2.0)
    assert b.grad == pytest.approx(1.0)
    assert len(out.parents) == 4


def test_sum_values_of_many_terms_is_one_flat_node_and_accepts_a_generator():
    leaves = [Value(float(i)) for i in range(1000)]
    out = sum_values(v * v for v in leaves)
    out.backward()
    assert out.data == pytest.approx(sum(i * i for i in range(1000)))
    assert len(out.parents) == 1000
    assert all(v.grad == pytest.approx(2 * v.data) for v in leaves)


def test_sum_values_of_nothing_is_a_value_error():
    with pytest.raises(ValueError, match="sum_values"):
        sum_values([])


def test_local_derivatives_of_a_leaf_are_empty():
    assert autodiff.local_derivatives(Value(1.0)) == ()


def test_collector_paused_restores_the_collector_as_it_was_even_on_error():
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), collector_paused():
        assert not gc.isenabled()
        _ = 1 / 0
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()


def test_backward_leaves_the_collector_on():
    x = Value(2.0)
    (x * x).backward()
    assert gc.isenabled()


# ---- reliability: a failed sweep changes nothing, concurrent sweeps never undo each other ----


def test_collector_is_never_left_off_when_pauses_in_threads_overlap(monkeypatch):
    # The race: thread B sees the collector off (A has paused it), A's pause ends and turns it
    # on, then B turns it off and, having seen it off, never turns it on again. A slow
    # gc.disable in B opens that window wide.
    a_inside, a_done = threading.Event(), threading.Event()
    real_disable = gc.disable

    def slow_disable() -> None:
        if threading.current_thread().name == "B":
            a_done.wait(1)
        real_disable()

    monkeypatch.setattr(gc, "disable", slow_disable)

    def pause_a() -> None:
        with collector_paused():
            a_inside.set()
            time.sleep(0.2)  # B enters meanwhile
        a_done.set()

    def pause_b() -> None:
        a_inside.wait(5)
        with collector_paused():
            pass

    threads = [threading.Thread(target=pause_a), threading.Thread(target=pause_b, name="B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    on = gc.isenabled()
    gc.enable()
    assert on


def test_many_threads_pausing_the_collector_at_random_leave_it_on():
    def work(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(200):
            with collector_paused():
                if rng.random() < 0.5:
                    time.sleep(0)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert gc.isenabled()


class Interrupting:
    """A stand-in op whose local derivative raises, as Ctrl-C would in the middle of a sweep."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __call__(self, *args: object) -> tuple[float, ...]:
        raise self.error


def graph_with_a_raising_rule(error: BaseException) -> tuple[Value, list[Value]]:
    """y = tanh(a*b) + a, where tanh's derivative raises: the sweep fails half-way through."""
    a, b = Value(0.3, "a"), Value(-2.0, "b")
    product = a * b
    raising = dataclasses.replace(ops.TANH, name="raising_tanh", local=Interrupting(error))
    y = apply(raising, (product,)) + a
    return y, [a, b, product, y]


@pytest.mark.parametrize("error", [KeyboardInterrupt(), ZeroDivisionError("boom")])
def test_a_backward_stopped_half_way_changes_no_gradient(error):
    y, nodes = graph_with_a_raising_rule(error)
    for i, node in enumerate(nodes):
        node.grad = float(i) + 0.5  # gradients from earlier calls, as a user may have them
    before = [node.grad for node in nodes]
    with pytest.raises(type(error)):
        y.backward()
    assert [node.grad for node in nodes] == before


def test_a_failed_backward_in_one_thread_keeps_what_another_thread_added():
    # Before, a failed backward restored the grads it had saved, wiping additions made meanwhile.
    shared = Value(1.5, "w")
    started, other_done = threading.Event(), threading.Event()

    def slow_failing_rule(*args: object) -> tuple[float, ...]:
        started.set()
        other_done.wait(5)
        raise ZeroDivisionError("boom")

    failing = dataclasses.replace(ops.TANH, name="failing_tanh", local=slow_failing_rule)
    doomed = apply(failing, (shared * 2.0,))

    def fail() -> None:
        with pytest.raises(ZeroDivisionError):
            doomed.backward()

    thread = threading.Thread(target=fail)
    thread.start()
    started.wait(5)
    (shared * 3.0).backward()  # d/dw (3w) = 3, added while the other sweep is under way
    other_done.set()
    thread.join(10)
    assert shared.grad == 3.0


def test_gradient_map_touches_no_grad_and_matches_backward():
    a, b = Value(0.7, "a"), Value(-1.2, "b")
    y = (a * b).tanh() + a * a
    grads = gradient_map(y)
    assert a.grad == b.grad == 0.0
    t = math.tanh(0.7 * -1.2)
    assert grads[a] == pytest.approx((1 - t * t) * -1.2 + 2 * 0.7, rel=1e-12)
    assert grads[b] == pytest.approx((1 - t * t) * 0.7, rel=1e-12)
    y.backward()
    assert (a.grad, b.grad) == (grads[a], grads[b])


def test_the_sweep_order_puts_every_node_after_all_of_its_users():
    a, b = Value(1.0), Value(2.0)
    shared = a * b
    y = (shared + a).tanh() * shared + b
    order = topological_order(y)[::-1]  # the order backward sweeps in
    position = {node: i for i, node in enumerate(order)}
    assert order[0] is y and len(order) == len(set(order))
    for node in order:
        for parent in node.parents:
            assert position[parent] > position[node]
