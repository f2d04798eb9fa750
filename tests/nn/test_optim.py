"""SGD, Adam and AdamW against their update rules written out here and against torch.optim; their
argument checks; steps that are all or nothing; `update` on flat vectors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nn
from autodiff import Value

GRADS = [[0.5, -2.0], [0.25, -1.0], [-0.75, 3.0], [0.1, 0.0]]
START = [1.0, -0.5]
TORCH_HINT = 'needs PyTorch, the optional extra: pip install -e ".[torch]"'


def run(optimizer_cls, **options):
    params = [Value(x) for x in START]
    opt = optimizer_cls(params, **options)
    history = []
    for grads in GRADS:
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        opt.step()
        history.append([p.data for p in params])
    return history


def adam_by_hand(lr, b1, b2, eps, weight_decay=0.0, decoupled=False):
    """The paper's bias-corrected moments, with L2 in the gradient or decoupled (AdamW)."""
    w, m, v, history = list(START), [0.0, 0.0], [0.0, 0.0], []
    for t, grads in enumerate(GRADS, start=1):
        if decoupled:
            w = [wi - lr * weight_decay * wi for wi in w]
        else:
            grads = [g + weight_decay * wi for g, wi in zip(grads, w, strict=True)]
        m = [b1 * mi + (1 - b1) * g for mi, g in zip(m, grads, strict=True)]
        v = [b2 * vi + (1 - b2) * g * g for vi, g in zip(v, grads, strict=True)]
        m_hat = [mi / (1 - b1**t) for mi in m]
        v_hat = [vi / (1 - b2**t) for vi in v]
        w = [
            wi - lr * mh / (math.sqrt(vh) + eps) for wi, mh, vh in zip(w, m_hat, v_hat, strict=True)
        ]
        history.append(w)
    return history


def test_sgd_step_is_w_minus_lr_times_grad():
    history = run(nn.SGD, lr=0.1)
    w = list(START)
    for grads, got in zip(GRADS, history, strict=True):
        w = [wi - 0.1 * g for wi, g in zip(w, grads, strict=True)]
        assert got == pytest.approx(w, abs=1e-15)


def test_sgd_momentum_follows_pytorchs_velocity_rule():
    history = run(nn.SGD, lr=0.1, momentum=0.9)
    w, v = list(START), [0.0, 0.0]
    for grads, got in zip(GRADS, history, strict=True):
        v = [0.9 * vi + g for vi, g in zip(v, grads, strict=True)]
        w = [wi - 0.1 * vi for wi, vi in zip(w, v, strict=True)]
        assert got == pytest.approx(w, abs=1e-15)


def test_sgd_weight_decay_adds_decay_times_w_to_the_grad_before_momentum():
    history = run(nn.SGD, lr=0.1, momentum=0.5, weight_decay=0.2)
    w, buffer = list(START), None
    for grads, got in zip(GRADS, history, strict=True):
        g = [gi + 0.2 * wi for gi, wi in zip(grads, w, strict=True)]
        # PyTorch's buffer is the first step's gradient itself, then b <- mu b + g
        buffer = g if buffer is None else [0.5 * b + gi for b, gi in zip(buffer, g, strict=True)]
        w = [wi - 0.1 * b for wi, b in zip(w, buffer, strict=True)]
        assert got == pytest.approx(w, rel=1e-14, abs=1e-15)


def test_adam_follows_the_papers_bias_corrected_moments():
    expected = adam_by_hand(0.01, 0.9, 0.999, 1e-8)
    for got, want in zip(run(nn.Adam, lr=0.01), expected, strict=True):
        assert got == pytest.approx(want, rel=1e-12, abs=1e-15)


def test_adam_weight_decay_is_l2_through_the_gradient():
    expected = adam_by_hand(0.01, 0.8, 0.99, 1e-6, weight_decay=0.3)
    history = run(nn.Adam, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.3)
    for got, want in zip(history, expected, strict=True):
        assert got == pytest.approx(want, rel=1e-12, abs=1e-15)


def test_adamw_decays_the_weights_apart_from_the_moments():
    expected = adam_by_hand(0.01, 0.9, 0.999, 1e-8, weight_decay=0.3, decoupled=True)
    history = run(nn.AdamW, lr=0.01, weight_decay=0.3)
    for got, want in zip(history, expected, strict=True):
        assert got == pytest.approx(want, rel=1e-12, abs=1e-15)
    # and it is not Adam's L2: the two differ from the first step on
    assert history[0] != pytest.approx(run(nn.Adam, lr=0.01, weight_decay=0.3)[0], rel=1e-9)


def test_defaults_are_pytorchs():
    assert nn.Adam([Value(0.0)]).lr == nn.AdamW([Value(0.0)]).lr == 1e-3
    adam, adamw = nn.Adam([Value(0.0)]), nn.AdamW([Value(0.0)])
    assert adam.betas == adamw.betas == (0.9, 0.999)
    assert adam.eps == adamw.eps == 1e-8
    assert (adam.weight_decay, adamw.weight_decay) == (0.0, 0.01)
    assert nn.SGD([Value(0.0)], lr=0.1).weight_decay == 0.0


TORCH_CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.2, "weight_decay": 0.01}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.02, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": 0.1}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.05, "betas": (0.5, 0.9), "eps": 1e-4, "weight_decay": 0.2}),
]


@pytest.mark.parametrize(("name", "options"), TORCH_CASES)
def test_every_step_matches_torch_optim_with_the_same_numbers(name, options):
    torch = pytest.importorskip("torch", reason=TORCH_HINT)
    rng = np.random.default_rng(7)
    start = rng.normal(size=5)
    ours = [Value(x) for x in start]
    theirs = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = getattr(nn, name)(ours, **options)
    torch_opt = getattr(torch.optim, name)([theirs], **options)
    for _ in range(8):
        grads = rng.normal(size=5) * rng.choice([1e-3, 1.0, 10.0])
        for p, g in zip(ours, grads, strict=True):
            p.grad = float(g)
        theirs.grad = torch.tensor(grads, dtype=torch.float64)
        opt.step()
        torch_opt.step()
        expected = theirs.detach().numpy()
        np.testing.assert_allclose([p.data for p in ours], expected, rtol=1e-12, atol=0)


def test_update_returns_the_new_vector_and_leaves_its_inputs_alone():
    params = [Value(x) for x in START]
    opt, twin = nn.Adam(params, lr=0.01), nn.Adam([Value(x) for x in START], lr=0.01)
    theta = np.array(START)
    for grads, want in zip(GRADS, adam_by_hand(0.01, 0.9, 0.999, 1e-8), strict=True):
        grad = np.array(grads)
        new = opt.update(theta, grad)
        assert theta.tolist() != new.tolist()
        assert grad.tolist() == grads
        np.testing.assert_allclose(new, want, rtol=1e-12)
        for p, g in zip(twin.params, grads, strict=True):
            p.grad = g
        twin.step()  # step is update on the gathered numbers, written back
        assert [p.data for p in twin.params] == new.tolist()
        theta = new
    assert [p.data for p in params] == START  # update never touches the Values
    assert opt.t == 4


def test_update_wants_one_number_per_parameter():
    opt = nn.SGD([Value(1.0), Value(2.0)], lr=0.1)
    with pytest.raises(ValueError, match=r"SGD.update: grad must be a vector of 2 numbers.*\(3,\)"):
        opt.update(np.zeros(2), np.zeros(3))


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


ALL_KINDS = [
    lambda p: nn.SGD(p, lr=0.1),
    lambda p: nn.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.1),
    lambda p: nn.Adam(p, lr=0.1),
    lambda p: nn.AdamW(p, lr=0.1),
]
KIND_IDS = ["sgd", "momentum", "adam", "adamw"]


@pytest.mark.parametrize("make", ALL_KINDS, ids=KIND_IDS)
def test_a_step_keeps_data_a_python_float_when_a_grad_is_a_numpy_scalar(make):
    p = Value(1.0)
    p.grad = np.float32(0.1)
    make([p]).step()
    assert type(p.data) is float


def test_optimizers_take_a_models_parameters_and_reduce_its_loss():
    model = nn.MLP(2, [4, 1], activation="tanh", seed=0)
    data = [([0.0, 1.0], 1.0), ([1.0, 0.0], -1.0)]
    params = model.parameters()
    for opt in (nn.SGD(params, lr=0.05, momentum=0.5), nn.Adam(params), nn.AdamW(params)):

        def loss():
            return nn.half_sse([model(x) for x, _ in data], [t for _, t in data])

        before = loss().data
        for _ in range(5):
            opt.zero_grad()
            loss().backward()
            opt.step()
        assert loss().data < before


# A step that would make a number NaN or infinite raises before anything changes (it used to
# write inf or NaN into the parameters, or stop half-way through them).


def snapshot(opt):
    state = {k: np.copy(v) for k, v in vars(opt).items() if isinstance(v, np.ndarray)}
    return [p.data for p in opt.params], state, getattr(opt, "t", None)


def test_an_overflowing_sgd_step_raises_naming_the_parameter_and_changes_nothing():
    params = [Value(1.0, "W1[0,0]"), Value(1.0, "W1[0,1]")]
    opt = nn.SGD(params, lr=1e300, momentum=0.5)
    params[0].grad, params[1].grad = 1.0, 1.0
    opt.step()
    before = snapshot(opt)
    params[0].grad, params[1].grad = 1.0, 1e300
    with pytest.raises(FloatingPointError) as raised:
        opt.step()
    message = str(raised.value)
    assert "SGD.step: the new value of 'W1[0,1]' would be -inf" in message
    assert "grad 1e+300" in message and "nothing was changed" in message
    after = snapshot(opt)
    assert after[0] == before[0]
    np.testing.assert_array_equal(after[1]["momentum_buffer"], before[1]["momentum_buffer"])


@pytest.mark.parametrize("optimizer_cls", [nn.Adam, nn.AdamW])
def test_a_nan_grad_stops_an_adam_step_before_any_parameter_or_moment_moves(optimizer_cls):
    params = [Value(x, f"b1[{i}]") for i, x in enumerate(START)]
    opt = optimizer_cls(params, lr=0.01)
    params[0].grad, params[1].grad = 0.5, math.nan
    with pytest.raises(FloatingPointError, match=r"'b1\[1\]' would be nan \(value -0.5, grad nan"):
        opt.step()
    assert [p.data for p in params] == START
    assert opt.t == 0 and not opt.m.any() and not opt.v.any()
    # the failed step left no trace: the next good step is a first step
    params[0].grad, params[1].grad = GRADS[0]
    opt.step()
    fresh = run(optimizer_cls, lr=0.01)[0]
    assert [p.data for p in params] == fresh


def test_a_grad_whose_square_overflows_is_refused_not_frozen_into_adams_moment():
    params = [Value(1.0, "w"), Value(2.0, "u")]
    opt = nn.Adam(params, lr=0.01)
    params[0].grad, params[1].grad = 1.0, 1e200
    with pytest.raises(FloatingPointError, match=r"new second moment \(v\) of 'u' would be inf"):
        opt.step()
    assert [p.data for p in params] == [1.0, 2.0]
    assert opt.t == 0 and not opt.v.any()


def test_an_unlabelled_parameter_is_named_by_its_position():
    params = [Value(1.0), Value(1.0)]
    params[1].grad = math.inf
    with pytest.raises(FloatingPointError, match=r"new value of params\[1\] would be -inf"):
        nn.SGD(params, lr=0.1).step()


@pytest.mark.parametrize(
    ("make", "error", "fragment"),
    [
        (lambda p: nn.SGD(p, lr=-0.1), ValueError, "lr must be a non-negative number (got -0.1)"),
        (lambda p: nn.SGD(p, lr=0.1, momentum=1.0), ValueError, "momentum must be a number in"),
        (lambda p: nn.Adam(p, betas=(0.9,)), ValueError, "betas must be a pair"),
        (lambda p: nn.Adam(p, betas=np.ones((2, 2)) / 2), ValueError, "betas must be a pair"),
        (lambda p: nn.Adam(p, betas=(0.9, 1.0)), ValueError, "betas[1] must be a number in [0, 1)"),
        (lambda p: nn.AdamW(p, betas=(-0.1, 0.9)), ValueError, "AdamW: betas[0] must be a number"),
        (lambda p: nn.SGD(p, lr=math.inf), ValueError, "lr must be a finite number (got inf)"),
        (lambda p: nn.SGD(p, lr=np.nan), ValueError, "lr must be a finite number (got nan)"),
        (lambda p: nn.Adam(p, eps=math.inf), ValueError, "eps must be a finite number (got inf)"),
        (lambda p: nn.Adam(p, eps=0), ValueError, "Adam: eps must be a positive number (got 0)"),
        (lambda p: nn.AdamW(p, eps=-1e-8), ValueError, "AdamW: eps must be a positive number"),
        (lambda p: nn.SGD(p, lr=0.1, weight_decay=-0.1), ValueError, "SGD: weight_decay must be"),
        (lambda p: nn.Adam(p, weight_decay=-1), ValueError, "Adam: weight_decay must be a non-"),
        (lambda p: nn.AdamW(p, weight_decay=math.nan), ValueError, "weight_decay must be a fin"),
        (lambda p: nn.SGD(p, lr="0.1"), ValueError, "lr must be a number (got str '0.1')"),
        (lambda p: nn.SGD(p, lr=True), ValueError, "lr must be a number (got bool True)"),
        (lambda p: nn.SGD(p, lr=np.bool_(1)), ValueError, "lr must be a number (got bool"),
        (lambda p: nn.SGD(p, lr=0.1, momentum=np.float32(1)), ValueError, "momentum must be"),
        (lambda p: nn.SGD([], lr=0.1), ValueError, "at least one Value"),
        (lambda p: nn.SGD([*p, p[0]], lr=0.1), ValueError, "must not repeat a Value"),
    ],
)
def test_optimizer_arguments_are_checked(make, error, fragment):
    with pytest.raises(error) as raised:
        make([Value(1.0), Value(2.0)])
    assert fragment in str(raised.value)


@pytest.mark.parametrize(
    ("params", "came"),
    [
        (Value(1.0), "got Value Value("),
        (Value, "got type <class"),
        (3.0, "got float 3.0"),
        ("W1", "got str 'W1'"),
        ([1.0], "got float 1.0 at params[0]"),
        ([Value(1.0), "b"], "got str 'b' at params[1]"),
    ],
    ids=["a-value", "the-class", "a-number", "a-string", "a-list-of-numbers", "a-mixed-list"],
)
def test_params_that_are_not_a_list_of_values_get_a_type_error_saying_so(params, came):
    with pytest.raises(TypeError) as raised:
        nn.SGD(params, lr=0.1)
    message = str(raised.value)
    assert message.startswith("SGD: params must be a list of Values (e.g. model.parameters())")
    assert came in message


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
    assert repr(nn.SGD(params, lr=0.1, momentum=0.9)) == (
        "SGD(2 parameters, lr=0.1, momentum=0.9, weight_decay=0.0)"
    )
    assert repr(nn.Adam(params, lr=0.01)).startswith("Adam(2 parameters, lr=0.01, betas=(0.9,")
    assert repr(nn.AdamW(params)).endswith("eps=1e-08, weight_decay=0.01)")
