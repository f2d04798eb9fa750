"""check_gradient: a closed-form gradient against the engine's, at one point or many."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from autodiff import GradcheckError, check_gradient


def f(x, y):
    return x * y.exp() + (x * y).tanh()


def right(x, y):  # d/dx and d/dy of x e^y + tanh(xy), derived by hand
    s = 1 - math.tanh(x * y) ** 2
    return [math.exp(y) + y * s, x * math.exp(y) + x * s]


def test_a_right_closed_form_passes_at_many_points():
    points = np.random.default_rng(0).uniform(-2, 2, (50, 2))
    assert check_gradient(f, right, points) is True
    assert check_gradient(f, right, [0.3, -1.2]) is True  # one point
    assert check_gradient(
        lambda x: x.sigmoid(), lambda x: math.exp(-x) / (1 + math.exp(-x)) ** 2, [0.5]
    )


def test_a_sign_slip_is_named_with_claimed_engine_and_finite_difference():
    def slipped(x, y):
        dx, dy = right(x, y)
        return [dx, -dy]  # the sign slip

    with pytest.raises(GradcheckError) as info:
        check_gradient(f, slipped, [[1.0, 0.5], [0.2, -0.3]])
    message = str(info.value)
    lines = message.splitlines()[1:]
    assert len(lines) == 2 and all("input 1 (x = " in line for line in lines)
    claimed, engine, numeric = map(
        float, re.findall(r"(?:claimed|engine|difference) (\S+?),?(?=\s|$)", lines[0])
    )
    assert claimed == pytest.approx(-right(1.0, 0.5)[1])
    assert engine == pytest.approx(right(1.0, 0.5)[1], rel=1e-12)
    assert numeric == pytest.approx(engine, rel=1e-6)
    assert "input 0" not in message


def test_seed_001_closed_forms_pass_and_the_halved_loss_fails():
    # note 001's elementwise 2-2-2 sigmoid network without biases, E = ½Σ(Y - a)²
    def sig(z):
        return 1 / (1 + math.exp(-z))

    x1, x2, Y1, Y2 = 0.5, -1.0, 1.0, 0.0

    def E(w11, w12, w13, w14, w21, w22, w23, w24):
        a11 = (x1 * w11 + x2 * w12).sigmoid()
        a12 = (x1 * w13 + x2 * w14).sigmoid()
        a21 = (a11 * w21 + a12 * w22).sigmoid()
        a22 = (a11 * w23 + a12 * w24).sigmoid()
        return 0.5 * (Y1 - a21) ** 2 + 0.5 * (Y2 - a22) ** 2

    def dE(w11, w12, w13, w14, w21, w22, w23, w24):
        a11, a12 = sig(x1 * w11 + x2 * w12), sig(x1 * w13 + x2 * w14)
        a21, a22 = sig(a11 * w21 + a12 * w22), sig(a11 * w23 + a12 * w24)
        d1, d2 = (a21 - Y1) * a21 * (1 - a21), (a22 - Y2) * a22 * (1 - a22)
        h1 = (d1 * w21 + d2 * w23) * a11 * (1 - a11)
        h2 = (d1 * w22 + d2 * w24) * a12 * (1 - a12)
        return [h1 * x1, h1 * x2, h2 * x1, h2 * x2, d1 * a11, d1 * a12, d2 * a11, d2 * a12]

    points = np.random.default_rng(1).uniform(-1, 1, (10, 8))
    assert check_gradient(E, dE, points)
    with pytest.raises(GradcheckError, match=r"input 7"):
        check_gradient(E, lambda *w: [g / 2 for g in dE(*w)], points[:1])  # the note's ½(E1 + E2)


def test_bad_arguments_get_clear_errors():
    with pytest.raises(TypeError, match=r"check_gradient: f must be callable \(got 3\)"):
        check_gradient(3, right, [1.0, 2.0])
    with pytest.raises(TypeError, match=r"claimed must be callable"):
        check_gradient(f, None, [1.0, 2.0])
    with pytest.raises(
        ValueError, match=r"claimed must return 2 numbers, one per input \(got \[1\.0\]"
    ):
        check_gradient(f, lambda x, y: [1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"inputs must be a non-empty sequence"):
        check_gradient(f, right, [])
    with pytest.raises(
        ValueError, match=r"inputs must be all numbers \(one point\) or all sequences"
    ):
        check_gradient(f, right, [1.0, [2.0, 3.0]])
    with pytest.raises(ValueError, match=r"inputs\[1\] must have 2 entries \(got 3\)"):
        check_gradient(f, right, [[1.0, 2.0], [1.0, 2.0, 3.0]])
    with pytest.raises(TypeError, match=r"f must return a Value \(got float"):
        check_gradient(lambda x, y: 1.0, right, [1.0, 2.0])
    with pytest.raises(ValueError, match=r"rtol must be >= 0"):
        check_gradient(f, right, [1.0, 2.0], rtol=-1)
