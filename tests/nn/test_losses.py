"""Losses: values and gradients against formulas written here in numpy, stability, errors."""

from __future__ import annotations

import numpy as np
import pytest

import nn
from autodiff import Value, trace

EPS = 1e-12  # binary_cross_entropy reads log(p + EPS) and log(1 - p + EPS)


def leaves(xs):
    return [Value(x) for x in xs]


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


def test_half_sse_is_half_the_sum_of_squares_with_gradient_y_minus_t():
    y, t = np.array([0.3, -1.2, 2.0]), np.array([1.0, 0.0, 2.5])
    ys = leaves(y)
    loss = nn.half_sse(ys, t.tolist())
    loss.backward()
    assert loss.data == pytest.approx(0.5 * np.sum((y - t) ** 2), rel=1e-14)
    np.testing.assert_allclose([v.grad for v in ys], y - t, rtol=1e-14)


def test_half_sse_reads_one_value_and_one_number_as_one_pair():
    y = Value(0.75)
    nn.half_sse(y, 1.0).backward()
    assert y.grad == pytest.approx(-0.25, abs=1e-15)


@pytest.mark.parametrize(("reduction", "scale"), [("mean", 1 / 4), ("sum", 1.0)])
def test_mse_divides_by_the_count_or_not(reduction, scale):
    y, t = np.array([0.5, 1.5, -2.0, 0.0]), np.array([1.0, 1.0, 1.0, 1.0])
    ys = leaves(y)
    loss = nn.mse(ys, t, reduction=reduction)
    loss.backward()
    assert loss.data == pytest.approx(scale * np.sum((y - t) ** 2), rel=1e-14)
    np.testing.assert_allclose([v.grad for v in ys], scale * 2 * (y - t), rtol=1e-14)


def test_mse_rejects_an_unknown_reduction():
    with pytest.raises(ValueError, match=r"'mean' or 'sum' \(got 'avg'\)"):
        nn.mse([Value(1.0)], [1.0], reduction="avg")


def test_binary_cross_entropy_is_the_mean_over_m_samples():
    p, t = np.array([0.9, 0.2, 0.6, 0.35]), np.array([1.0, 0.0, 1.0, 0.25])
    ps = leaves(p)
    loss = nn.binary_cross_entropy(ps, t)
    loss.backward()
    want = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
    assert loss.data == pytest.approx(want, rel=1e-10)  # log(p + 1e-12) differs by about 1e-12/p
    dp = -(t / (p + EPS) - (1 - t) / (1 - p + EPS)) / 4
    np.testing.assert_allclose([v.grad for v in ps], dp, rtol=1e-13)


def test_binary_cross_entropy_stays_finite_when_a_sigmoid_saturates():
    z = Value(40.0)  # sigmoid(40) rounds to exactly 1.0
    p = z.sigmoid()
    assert p.data == 1.0
    assert nn.binary_cross_entropy([p], [1.0]).data == 0.0
    wrong = nn.binary_cross_entropy([p], [0.0])  # log(1 - p) = log 0 without the eps
    wrong.backward()
    assert wrong.data == pytest.approx(-np.log(1e-12), rel=1e-12)
    assert np.isfinite(z.grad)


@pytest.mark.parametrize(
    ("z", "t"),
    [(-40.0, 1.0), (40.0, 0.0), (-30.0, 1.0), (-40.0, 0.7), (3.0, 1.0), (-2.0, 0.0)],
)
def test_binary_cross_entropy_gradient_follows_the_eps_form_even_when_confidently_wrong(z, t):
    """dL/dp = -(t/(p+eps) - (1-t)/(1-p+eps))/m: near -1/eps for p far below eps, never 0."""
    zs = leaves([z, 0.0])
    ps = [v.sigmoid() for v in zs]
    loss = nn.binary_cross_entropy(ps, [t, 1.0])
    loss.backward()
    p = np.array([v.data for v in ps])
    tt = np.array([t, 1.0])
    dp = -(tt / (p + EPS) - (1 - tt) / (1 - p + EPS)) / 2
    np.testing.assert_allclose([v.grad for v in ps], dp, rtol=1e-9)
    np.testing.assert_allclose([v.grad for v in zs], dp * p * (1 - p), rtol=1e-9)


def test_binary_cross_entropy_pushes_hard_on_a_confidently_wrong_probability():
    p = Value(-40.0).sigmoid()  # about 4e-18, far below eps
    nn.binary_cross_entropy([p], [1.0]).backward()
    assert p.grad < -0.9 / EPS  # PyTorch: (p - t)/max(p(1 - p), 1e-12) = -1e12


def test_binary_cross_entropy_with_logits_matches_bce_of_sigmoid():
    z, t = np.array([-2.0, 0.3, 1.7, 4.0]), np.array([0.0, 1.0, 0.4, 1.0])
    zs = leaves(z)
    loss = nn.binary_cross_entropy_with_logits(zs, t)
    loss.backward()
    p = sigmoid(z)
    assert loss.data == pytest.approx(-np.mean(t * np.log(p) + (1 - t) * np.log(1 - p)), rel=1e-13)
    np.testing.assert_allclose([v.grad for v in zs], (p - t) / 4, rtol=1e-12)


def test_binary_cross_entropy_with_logits_is_exact_for_huge_logits():
    zs = leaves([800.0, -800.0, 800.0])
    loss = nn.binary_cross_entropy_with_logits(zs, [0.0, 1.0, 1.0])
    loss.backward()
    assert loss.data == pytest.approx((800.0 + 800.0 + 0.0) / 3, rel=1e-15)
    assert [v.grad for v in zs] == pytest.approx([1 / 3, -1 / 3, 0.0], abs=1e-15)


@pytest.mark.parametrize(
    "loss", [nn.binary_cross_entropy, nn.binary_cross_entropy_with_logits], ids=["p", "logits"]
)
@pytest.mark.parametrize("target", [1.5, -0.1])
def test_bce_targets_outside_zero_one_are_refused(loss, target):
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]"):
        loss([Value(0.5), Value(0.5)], [1.0, target])


def test_bce_from_probabilities_refuses_a_number_outside_zero_one():
    with pytest.raises(ValueError, match="with_logits"):
        nn.binary_cross_entropy([Value(1.3)], [1.0])


def test_softmax_sums_to_one_without_overflow():
    probs = nn.softmax(leaves([1000.0, 1001.0, 999.0]))
    e = np.exp(np.array([1000.0, 1001.0, 999.0]) - 1001.0)
    # z - logsumexp(z) near 1000 carries an absolute error of about one ulp of 1000
    np.testing.assert_allclose([p.data for p in probs], e / e.sum(), rtol=1e-12)
    assert sum(p.data for p in probs) == pytest.approx(1.0, abs=1e-12)


def test_softmax_cross_entropy_gradient_is_softmax_minus_one_hot():
    z = np.array([2.0, -1.0, 0.5])
    zs = leaves(z)
    loss = nn.softmax_cross_entropy(zs, 2)
    loss.backward()
    s = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    assert loss.data == pytest.approx(-np.log(s[2]), rel=1e-14)
    np.testing.assert_allclose([v.grad for v in zs], s - np.array([0, 0, 1.0]), atol=1e-15)


def test_softmax_cross_entropy_takes_soft_targets_and_huge_logits():
    z, t = np.array([1000.0, 998.0, 1001.0]), np.array([0.2, 0.3, 0.5])
    zs = leaves(z)
    loss = nn.softmax_cross_entropy(zs, t.tolist())
    loss.backward()
    log_s = z - z.max() - np.log(np.exp(z - z.max()).sum())
    assert loss.data == pytest.approx(-(t * log_s).sum(), rel=1e-13)
    np.testing.assert_allclose([v.grad for v in zs], np.exp(log_s) - t, atol=1e-14)


def numpy_softmax(offsets):
    e = np.exp(np.asarray(offsets, dtype=float) - np.max(offsets))
    return e / e.sum()


def test_softmax_of_two_equal_logits_near_1e16_is_one_half_each():
    # one ulp of 1e16 is 2, more than log 2: logsumexp(z) rounds to 1e16 and z - lse to 0
    probs = nn.softmax(leaves([1e16, 1e16]))
    assert [p.data for p in probs] == pytest.approx([0.5, 0.5], rel=1e-15)


def test_softmax_cross_entropy_of_two_equal_logits_near_1e16_is_log_2_with_grads_half():
    zs = leaves([1e16, 1e16])
    loss = nn.softmax_cross_entropy(zs, 0)
    loss.backward()
    assert loss.data == pytest.approx(np.log(2.0), rel=1e-15)
    assert [v.grad for v in zs] == pytest.approx([-0.5, 0.5], abs=1e-15)


@pytest.mark.parametrize("base", [0.0, 1e3, 1e12, 1e15, -1e15])
def test_softmax_at_a_huge_common_offset_equals_the_offsets_softmax(base):
    """softmax(base + d) = softmax(d): offsets exactly representable at 1e15 (ulp 0.125)."""
    offsets = np.array([0.0, 0.125, 1.5, -2.25])
    zs = leaves(base + offsets)
    assert [v.data - base for v in zs] == offsets.tolist()  # the logits hold the offsets exactly
    s = numpy_softmax(offsets)
    np.testing.assert_allclose([p.data for p in nn.softmax(zs)], s, rtol=1e-13)
    loss = nn.softmax_cross_entropy(zs, 2)
    loss.backward()
    assert loss.data == pytest.approx(-np.log(s[2]), rel=1e-13)
    np.testing.assert_allclose([v.grad for v in zs], s - np.eye(4)[2], atol=1e-15)


def test_softmax_of_logits_spread_wider_than_the_float_range_is_zero_and_one():
    zs = leaves([-1e308, 1e308])  # z1 - z0 = 2e308 is not a float
    probs = nn.softmax(zs)
    assert [p.data for p in probs] == [0.0, 1.0]
    probs[1].backward()  # d s1/dz = s1 (e1 - s) = [0, 0] here
    assert [v.grad for v in zs] == [0.0, 0.0]
    right = nn.softmax_cross_entropy(leaves([-1e308, 1e308]), 1)
    assert right.data == 0.0
    with pytest.raises(OverflowError, match="overflows"):  # -log s0 = 2e308: truly no float
        nn.softmax_cross_entropy(leaves([-1e308, 1e308]), 0)


@pytest.mark.parametrize("base", [0.0, 1e16])
def test_softmax_cross_entropy_traced_with_target_columns_keeps_the_precision(base):
    """In a traced batch (fit's form) the targets are Values; the loss is still exact."""
    tape = trace(lambda a, b, t0, t1: nn.softmax_cross_entropy([a, b], [t0, t1]), 4)
    X = np.array([[base, base, 1.0, 0.0], [base, base + 2.0, 0.0, 1.0]])
    s = numpy_softmax([0.0, 2.0])
    np.testing.assert_allclose(tape.forward(X), [np.log(2.0), -np.log(s[1])], rtol=1e-14)


def test_softmax_cross_entropy_of_a_batch_is_the_mean():
    rows = [leaves([0.1, 0.2]), leaves([1.0, -1.0]), leaves([0.0, 3.0])]
    batch = nn.softmax_cross_entropy(rows, [0, 1, 1]).data
    singles = [nn.softmax_cross_entropy(r, c).data for r, c in zip(rows, [0, 1, 1], strict=True)]
    assert batch == pytest.approx(np.mean(singles), rel=1e-14)


@pytest.mark.parametrize(
    ("target", "fragment"),
    [(3, "class index in 0..2 (got 3)"), ([0.5, 0.4, 0.2], "3 probabilities summing to 1")],
)
def test_softmax_cross_entropy_refuses_bad_targets(target, fragment):
    with pytest.raises(ValueError) as error:
        nn.softmax_cross_entropy(leaves([0.0, 1.0, 2.0]), target)
    assert fragment in str(error.value)


def test_hinge_loss_is_micrograds_mean_of_relu_one_minus_margin():
    s, t = np.array([2.0, 0.3, -0.5, -3.0]), np.array([1.0, 1.0, 1.0, -1.0])
    ss = leaves(s)
    loss = nn.hinge_loss(ss, t)
    loss.backward()
    assert loss.data == pytest.approx(np.mean(np.maximum(0.0, 1 - t * s)), rel=1e-14)
    np.testing.assert_allclose([v.grad for v in ss], np.where(1 - t * s > 0, -t, 0.0) / 4)
    assert nn.max_margin_loss is nn.hinge_loss


def test_hinge_loss_refuses_zero_one_labels_with_a_hint():
    with pytest.raises(ValueError, match=r"-1 or \+1 \(got 0.0 at position 1\); .*2\*y - 1"):
        nn.hinge_loss(leaves([1.0, 2.0]), [1, 0])


@pytest.mark.parametrize(
    "loss",
    [
        nn.half_sse,
        nn.mse,
        nn.binary_cross_entropy,
        nn.binary_cross_entropy_with_logits,
        nn.hinge_loss,
    ],
)
def test_mismatched_lengths_name_both_lengths(loss):
    with pytest.raises(ValueError, match=r"got 3 outputs and 2 targets"):
        loss(leaves([0.5, 0.5, 0.5]), [1.0, 1.0])


@pytest.mark.parametrize("loss", [nn.half_sse, nn.mse, nn.hinge_loss, nn.binary_cross_entropy])
@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        (float("nan"), "targets[1] must be a finite number (got nan)"),
        (np.inf, "targets[1] must be a finite number (got inf)"),
        ("1", "targets[1] must be a number (got str '1')"),
        (None, "targets[1] must be a number (got NoneType None)"),
    ],
)
def test_a_bad_target_is_named_with_the_loss_and_its_position(loss, target, fragment):
    with pytest.raises(ValueError) as error:
        loss(leaves([0.5, 0.5]), [1.0, target])
    assert str(error.value).startswith(loss.__name__ + ": ")
    assert fragment in str(error.value)


@pytest.mark.parametrize("loss", [nn.half_sse, nn.mse])
def test_squared_error_losses_take_value_targets_and_differentiate_through_them(loss):
    y, t = Value(0.75), Value(1.0)
    loss([y], [t]).backward()
    scale = 1.0 if loss is nn.half_sse else 2.0
    assert (y.grad, t.grad) == pytest.approx((-0.25 * scale, 0.25 * scale), abs=1e-15)


def test_softmax_batch_with_mismatched_targets_names_both_lengths():
    with pytest.raises(ValueError, match=r"got 2 rows of logits and 1 targets"):
        nn.softmax_cross_entropy([leaves([0.0, 1.0]), leaves([1.0, 0.0])], [0])


@pytest.mark.parametrize(
    "loss",
    [
        lambda p: nn.binary_cross_entropy([p.sigmoid()], [1.0]),
        lambda p: nn.binary_cross_entropy_with_logits([p], [0.3]),
        lambda p: nn.hinge_loss([p], [-1.0]),
        lambda p: nn.softmax_cross_entropy([p, 2 * p, Value(0.5)], 1),
        lambda p: nn.half_sse([p, p * p], [1.0, 0.0]),
    ],
    ids=["bce", "bce-logits", "hinge", "softmax-ce", "half-sse"],
)
def test_losses_replay_on_the_numpy_tape_with_the_eager_numbers(loss):
    tape = trace(lambda x: loss(x), 1)
    X = np.array([[-2.0], [0.1], [0.7], [3.0]])
    eager = [loss(Value(x)).data for x in X[:, 0]]
    np.testing.assert_allclose(tape.forward(X), eager, rtol=1e-13)


@pytest.mark.parametrize(
    "loss",
    [
        lambda s, t: nn.hinge_loss([s[0]], [2 * t - 1]),
        lambda s, t: nn.binary_cross_entropy_with_logits([s[0]], [t]),
        lambda s, t: nn.binary_cross_entropy([s[0].sigmoid()], [t]),
        lambda s, t: nn.softmax_cross_entropy(s, [t, 1 - t, 0.0]),
        lambda s, t: nn.half_sse(s, [t, t, t]),
        lambda s, t: nn.mse(s, [t, 0.0, t]),
    ],
    ids=["hinge", "bce_logits", "bce", "softmax_ce", "half_sse", "mse"],
)
def test_losses_take_value_targets_so_a_batch_can_be_traced(loss):
    """Targets as the tape's input columns give the numbers of plain-number targets, row by row."""
    model = nn.MLP(2, [4, 3], seed=0)
    tape = trace(lambda x1, x2, t: loss(model([x1, x2]), t), 3)
    X = np.array([[0.1, 0.2, 1.0], [0.5, -0.3, 0.0], [-1.2, 0.7, 1.0]])
    expected = [loss(model([a, b]), t).data for a, b, t in X.tolist()]
    np.testing.assert_allclose(tape.forward(X), expected, rtol=1e-12)


def test_softmax_cross_entropy_is_one_softmax_ce_node_over_the_logits_and_one_hot_weights():
    zs = leaves([0.5, -1.0, 2.0])
    loss = nn.softmax_cross_entropy(zs, 1)
    assert loss.op.name == "softmax_ce"
    assert loss.parents[:3] == tuple(zs)
    assert [t.data for t in loss.parents[3:]] == [0.0, 1.0, 0.0]
    soft = nn.softmax_cross_entropy(zs, [0.25, 0.25, 0.5])
    assert [t.data for t in soft.parents[3:]] == [0.25, 0.25, 0.5]


def test_softmax_cross_entropy_traced_at_logits_near_1e16_has_the_exact_gradient():
    # L = log 2 at z = (w·a, b) = (1e16, 1e16) against class 0: dL/dw = (0.5 - 1)·a = -5e15
    w = Value(1.0, "w")
    tape = trace(lambda a, b, t0, t1: nn.softmax_cross_entropy([a * w, b], [t0, t1]), 4)
    out = tape.forward(np.array([[1e16, 1e16, 1.0, 0.0]]))
    assert out.tolist() == [pytest.approx(np.log(2.0), rel=1e-15)]
    assert tape.gradient("sum").tolist() == [-5e15]


def test_softmax_cross_entropy_through_a_network_on_the_tape_equals_eager_row_by_row():
    model = nn.MLP(3, [5, 4], activation="tanh", seed=3)
    rng = np.random.default_rng(4)
    classes = rng.integers(0, 4, 6)
    X = np.column_stack([rng.normal(0.0, 2.0, (6, 3)), np.eye(4)[classes]])

    def loss(*columns):
        return nn.softmax_cross_entropy(model(list(columns[:3])), list(columns[3:]))

    tape = trace(loss, 7)
    forward = tape.forward(X)
    for row, label, value in zip(X, classes, forward, strict=True):
        model.zero_grad()
        eager = nn.softmax_cross_entropy(model(row[:3].tolist()), int(label))
        eager.backward()
        assert value == pytest.approx(eager.data, rel=1e-12)
        tape.forward(row[None, :])
        np.testing.assert_allclose(
            tape.gradient("sum"), [p.grad for p in tape.parameters], rtol=1e-12, atol=1e-15
        )
