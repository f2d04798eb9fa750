"""SGD and Adam against their update rules written out here, and their argument checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nn
from autodiff import Value

GRADS = [[0.5, -2.0], [0.25, -1.0], [-0.75, 3.0], [0.1, 0.0]]


def run(optimizer_cls, **options):
    params = [Value(1.0), Value(-0.5)]
    opt = optimizer_cls(params, **options)
    history = []
    for grads in GRADS:
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        opt.step()
        history.append([p.data for p in params])
    return history


def test_sgd_step_is_w_minus_lr_times_grad():
    history = run(nn.SGD, lr=0.1)
    w = [1.0, -0.5]
    for grads, got in zip(GRADS, history, strict=True):
        w = [wi - 0.1 * g for wi, g in zip(w, grads, strict=True)]
        assert got == pytest.approx(w, abs=1e-15)


def test_sgd_momentum_follows_pytorchs_velocity_rule():
    history = run(nn.SGD, lr=0.1, momentum=0.9)
    w, v = [1.0, -0.5], [0.0, 0.0]
    for grads, got in zip(GRADS, history, strict=True):
        v = [0.9 * vi + g for vi, g in zip(v, grads, strict=True)]
        w = [wi - 0.1 * vi for wi, vi in zip(w, v, strict=True)]
        assert got == pytest.approx(w, abs=1e-15)


def test_adam_follows_the_papers_bias_corrected_moments():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    history = run(nn.Adam, lr=lr)
    w, m, v = [1.0, -0.5], [0.0, 0.0], [0.0, 0.0]
    for t, (grads, got) in enumerate(zip(GRADS, history, strict=True), start=1):
        m = [b1 * mi + (1 - b1) * g for mi, g in zip(m, grads, strict=True)]
        v = [b2 * vi + (1 - b2) * g * g for vi, g in zip(v, grads, strict=True)]
        m_hat = [mi / (1 - b1**t) for mi in m]
        v_hat = [vi / (1 - b2**t) for vi in v]
        w = [
            wi - lr * mh / (math.sqrt(vh) + eps) for wi, mh, vh in zip(w, m_hat, v_hat, strict=True)
        ]
        assert got == pytest.approx(w, rel=1e-12, abs=1e-15)


def test_adam_default_learning_rate_is_pytorchs():
    assert nn.Adam([Value(0.0)]).lr == 1e-3


def test_zero_grad_resets_the_grads_of_its_parameters():
    params = [Value(1.0), Value(2.0)]
    for p in params:
        p.grad = 4.0
    nn.SGD(params, lr=0.1).zero_grad()
    assert [p.grad for p in params] == [0.0, 0.0]


def test_a_step_reads_grads_made_with_create_graph():
    x = Value(3.0)
    (x * x).backward(create_graph=True)
    nn.SGD([x], lr=0.5).step()
    assert x.data == pytest.approx(3.0 - 0.5 * 6.0, abs=1e-15)


@pytest.mark.parametrize(
    "make",
    [
        lambda p: nn.SGD(p, lr=0.1),
        lambda p: nn.SGD(p, lr=0.1, momentum=0.9),
        lambda p: nn.Adam(p, lr=0.1),
    ],
    ids=["sgd", "momentum", "adam"],
)
def test_a_step_keeps_data_a_python_float_when_a_grad_is_a_numpy_scalar(make):
    p = Value(1.0)
    p.grad = np.float32(0.1)
    make([p]).step()
    assert type(p.data) is float


def test_optimizers_take_a_models_parameters_and_reduce_its_loss():
    model = nn.MLP(2, [4, 1], activation="tanh", seed=0)
    data = [([0.0, 1.0], 1.0), ([1.0, 0.0], -1.0)]
    for opt in (nn.SGD(model.parameters(), lr=0.05, momentum=0.5), nn.Adam(model.parameters())):

        def loss():
            return nn.half_sse([model(x) for x, _ in data], [t for _, t in data])

        before = loss().data
        for _ in range(5):
            opt.zero_grad()
            loss().backward()
            opt.step()
        assert loss().data < before


@pytest.mark.parametrize(
    ("make", "error", "fragment"),
    [
        (lambda p: nn.SGD(p, lr=-0.1), ValueError, "lr must be a non-negative number (got -0.1)"),
        (lambda p: nn.SGD(p, lr=0.1, momentum=1.0), ValueError, "momentum must be a number in"),
        (lambda p: nn.Adam(p, betas=(0.9,)), ValueError, "betas must be a pair"),
        (lambda p: nn.Adam(p, betas=np.ones((2, 2)) / 2), ValueError, "betas must be a pair"),
        (lambda p: nn.SGD(p, lr=math.inf), ValueError, "lr must be a finite number (got inf)"),
        (lambda p: nn.SGD(p, lr=np.nan), ValueError, "lr must be a finite number (got nan)"),
        (lambda p: nn.Adam(p, eps=math.inf), ValueError, "eps must be a finite number (got inf)"),
        (lambda p: nn.SGD(p, lr="0.1"), ValueError, "lr must be a number (got str '0.1')"),
        (lambda p: nn.SGD(p, lr=True), ValueError, "lr must be a number (got bool True)"),
        (lambda p: nn.SGD(p, lr=np.bool_(1)), ValueError, "lr must be a number (got bool"),
        (lambda p: nn.SGD(p, lr=0.1, momentum=np.float32(1)), ValueError, "momentum must be"),
        (lambda p: nn.SGD([], lr=0.1), ValueError, "at least one Value"),
        (lambda p: nn.SGD([*p, p[0]], lr=0.1), ValueError, "must not repeat a Value"),
        (lambda p: nn.SGD([1.0], lr=0.1), TypeError, "params[0] must be a Value (got float)"),
    ],
)
def test_optimizer_arguments_are_checked(make, error, fragment):
    with pytest.raises(error) as raised:
        make([Value(1.0), Value(2.0)])
    assert fragment in str(raised.value)


def test_settings_may_be_numpy_scalars_and_betas_an_array():
    params = [Value(1.0), Value(2.0)]
    sgd = nn.SGD(params, lr=np.float32(0.25), momentum=np.float64(0.5))
    assert (sgd.lr, sgd.momentum) == (0.25, 0.5)
    assert type(sgd.lr) is float
    adam = nn.Adam(params, lr=np.float32(0.5), betas=np.array([0.5, 0.75]), eps=np.float16(0.125))
    assert (adam.lr, adam.betas, adam.eps) == (0.5, (0.5, 0.75), 0.125)
    assert nn.SGD(params, lr=np.int64(1)).lr == 1.0
    assert run(nn.Adam, lr=np.float64(0.01)) == run(nn.Adam, lr=0.01)


def test_optimizers_say_what_they_hold_and_their_settings():
    params = [Value(1.0), Value(2.0)]
    assert repr(nn.SGD(params, lr=0.1, momentum=0.9)) == "SGD(2 parameters, lr=0.1, momentum=0.9)"
    assert repr(nn.Adam(params, lr=0.01)).startswith("Adam(2 parameters, lr=0.01, betas=(0.9,")
