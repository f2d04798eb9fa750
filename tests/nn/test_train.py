"""nn.fit and nn.predict: training through the numpy tape agrees with the eager engine.

Expected gradients come from the eager graph (`model(x)` per row, the loss from nn.losses,
`backward()`), an independent path from the tape that `fit` replays.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

import nn
from autodiff import Tape, Value


@pytest.fixture(scope="module")
def moons() -> tuple[np.ndarray, np.ndarray]:
    return nn.make_moons(100, noise=0.1, seed=0)


def eager_copy(model: nn.MLP) -> nn.MLP:
    return nn.MLP.from_weights(
        model.weights(),
        model.biases(),
        activation=model.activation,
        output_activation=model.output_activation,
    )


def eager_accuracy(model: nn.MLP, X: np.ndarray, labels: np.ndarray) -> float:
    scores = np.array([model(x).data for x in X.tolist()])
    return float(np.mean(np.where(scores > 0, 1, -1) == labels))


def blobs(n: int = 90, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well separated Gaussian clusters, classes 0, 1, 2."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 2.0], [-2.0, -1.0], [2.0, -1.0]])
    y = np.arange(n) % 3
    return centres[y] + rng.normal(0.0, 0.5, size=(n, 2)), y


# --- training reaches what it should ---------------------------------------------------------


def test_two_moons_16_16_1_with_hinge_reaches_97_percent_quickly(moons):
    X, y = moons
    labels = 2 * y - 1
    model = nn.MLP(2, [16, 16, 1], seed=0)
    history = nn.fit(model, X, labels, loss="hinge", epochs=100, seed=0, progress=False)
    assert history.accuracy[-1] >= 0.97
    assert eager_accuracy(model, X, labels) >= 0.97
    assert 0.0 < history.seconds < 5.0


def test_history_has_one_entry_per_epoch_and_the_loss_falls(moons):
    X, y = moons
    history = nn.fit(nn.MLP(2, [8, 1], seed=1), X, 2 * y - 1, epochs=7, progress=False)
    assert len(history.loss) == 7
    assert len(history.accuracy) == 7
    assert all(0.0 <= a <= 1.0 for a in history.accuracy)
    long = nn.fit(nn.MLP(2, [16, 16, 1], seed=1), X, 2 * y - 1, epochs=40, progress=False)
    assert long.loss[-1] < 0.5 * long.loss[0]


def test_mse_records_loss_but_no_accuracy():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1.0, 1.0, size=(64, 1))
    y = 0.5 * X[:, 0] - 0.2
    model = nn.MLP(1, [1], seed=0)
    history = nn.fit(model, X, y, loss="mse", epochs=30, batch_size=16, progress=False)
    assert len(history.loss) == 30
    assert history.accuracy == []
    assert history.loss[-1] < 1e-3
    w, b = model.weights()[0][0, 0], model.biases()[0][0]
    assert w == pytest.approx(0.5, abs=0.02) and b == pytest.approx(-0.2, abs=0.02)


def test_bce_with_0_1_labels_trains_on_moons(moons):
    X, y = moons
    model = nn.MLP(2, [16, 16, 1], seed=0)
    history = nn.fit(model, X, y, loss="bce", epochs=80, progress=False)
    predicted = nn.labels_from(nn.predict(model, X), "positive")
    assert np.mean(predicted == y) >= 0.95
    assert history.accuracy[-1] == pytest.approx(np.mean(predicted == y), abs=1e-12)


def test_softmax_ce_with_class_indices_trains_on_three_blobs():
    X, y = blobs()
    model = nn.MLP(2, [16, 3], seed=0)
    history = nn.fit(model, X, y, loss="softmax_ce", epochs=40, progress=False)
    predicted = nn.labels_from(nn.predict(model, X), "argmax")
    assert np.mean(predicted == y) >= 0.95
    assert history.loss[-1] < 0.25 * history.loss[0]


def test_softmax_ce_trains_when_the_highest_class_is_absent_from_y():
    X, y = blobs()
    keep = y < 2
    model = nn.MLP(2, [8, 3], seed=0)
    history = nn.fit(model, X[keep], y[keep], loss="softmax_ce", epochs=40, progress=False)
    assert history.loss[-1] < 0.1 * history.loss[0]
    assert history.accuracy[-1] >= 0.95


def test_same_seeds_give_identical_histories_and_weights(moons):
    X, y = moons
    runs = []
    for fit_seed in (5, 5, 6):
        model = nn.MLP(2, [8, 8, 1], seed=3)
        history = nn.fit(
            model, X, 2 * y - 1, epochs=5, batch_size=10, seed=fit_seed, progress=False
        )
        runs.append((history, np.concatenate([w.ravel() for w in model.weights()])))
    (h1, w1), (h2, w2), (h3, _) = runs
    np.testing.assert_allclose(h1.loss, h2.loss, rtol=1e-15, atol=0.0)
    np.testing.assert_allclose(h1.accuracy, h2.accuracy, rtol=1e-15, atol=0.0)
    np.testing.assert_allclose(w1, w2, rtol=1e-15, atol=0.0)
    # a different shuffle is a different run: the seed is actually used
    assert not np.allclose(h1.loss, h3.loss, rtol=1e-9, atol=0.0)


# --- the gradients fit uses are the eager engine's -------------------------------------------

TARGETS_RNG = np.random.default_rng(42)
X_SMALL = TARGETS_RNG.normal(size=(12, 2))
CASES = {
    # loss: (outputs, targets, the eager mean loss over all rows from nn.losses)
    "hinge": (1, np.where(X_SMALL[:, 0] > 0, 1, -1), lambda outs, t: nn.hinge_loss(outs, t)),
    "bce": (
        1,
        (X_SMALL[:, 1] > 0).astype(int),
        lambda outs, t: nn.binary_cross_entropy_with_logits(outs, t),
    ),
    "softmax_ce": (
        3,
        np.arange(12) % 3,
        lambda outs, t: nn.softmax_cross_entropy(outs, [int(k) for k in t]),
    ),
    "mse": (
        2,
        TARGETS_RNG.normal(size=(12, 2)),
        lambda outs, t: nn.mse([o for row in outs for o in row], t.ravel().tolist()),
    ),
}


def eager_loss_and_grads(model: nn.MLP, loss: str, weight_decay: float = 0.0):
    _, targets, mean_loss = CASES[loss]
    outputs = [model(x) for x in X_SMALL.tolist()]
    total = mean_loss(outputs, targets.tolist() if loss != "mse" else targets)
    params = model.parameters()
    if weight_decay:
        total = total + weight_decay * sum((p * p for p in params[1:]), params[0] * params[0])
    model.zero_grad()
    total.backward()
    return total.data, np.array([p.data for p in params]), np.array([p.grad for p in params])


@pytest.mark.parametrize("loss", list(CASES))
def test_one_full_batch_sgd_step_moves_by_the_eager_mean_gradient(loss):
    k, targets, _ = CASES[loss]
    model = nn.MLP(2, [5, k], activation="tanh", seed=7)
    expected_loss, before, grads = eager_loss_and_grads(eager_copy(model), loss)
    assert np.abs(grads).max() > 1e-3  # a real gradient, so the comparison has teeth
    lr = 0.1
    history = nn.fit(
        model,
        X_SMALL,
        targets,
        loss=loss,
        optimizer=nn.SGD(model.parameters(), lr=lr),
        epochs=1,
        batch_size=len(X_SMALL),
        progress=False,
    )
    after = np.array([p.data for p in model.parameters()])
    np.testing.assert_allclose((before - after) / lr, grads, rtol=1e-9, atol=1e-12)
    assert history.loss[0] == pytest.approx(expected_loss, rel=1e-12)


def test_weight_decay_is_the_default_adams_lambda_p_added_to_the_gradient():
    """PyTorch's meaning: g + λ·p, the gradient of loss + λ/2·Σp²; Adam's first step is then
    lr · g / (|g| + eps) per parameter (its moments at t = 1 are g and g²)."""
    lam, lr, eps = 0.05, 0.01, 1e-8
    k, targets, _ = CASES["hinge"]
    model = nn.MLP(2, [5, k], activation="tanh", seed=8)
    plain_loss, before, plain = eager_loss_and_grads(eager_copy(model), "hinge")
    _, _, penalised = eager_loss_and_grads(eager_copy(model), "hinge", lam / 2)
    g = plain + lam * before
    np.testing.assert_allclose(penalised, g, rtol=1e-9, atol=1e-12)
    history = nn.fit(
        model,
        X_SMALL,
        targets,
        loss="hinge",
        epochs=1,
        batch_size=len(X_SMALL),
        weight_decay=lam,
        progress=False,
    )
    after = np.array([p.data for p in model.parameters()])
    np.testing.assert_allclose(after, before - lr * g / (np.abs(g) + eps), rtol=1e-12, atol=1e-14)
    # the history reports the loss itself, not the decay
    assert history.loss[0] == pytest.approx(plain_loss, rel=1e-12)


def test_weight_decay_with_an_explicit_optimizer_is_refused_naming_where_it_goes():
    model = nn.MLP(2, [4, 1], seed=0)
    before = model.state_dict()
    with pytest.raises(
        ValueError, match=r"^fit: weight_decay must be 0 when an optimizer is given \(got 0.1\)"
    ):
        nn.fit(
            model,
            X4,
            [1, -1, 1, -1],
            optimizer=nn.SGD(model.parameters(), lr=0.1),
            weight_decay=0.1,
            progress=False,
        )
    assert model.state_dict() == before


def eager_epoch(model, X, targets, loss, batch_size, rng, step):
    """One epoch done by hand: fit's shuffle (a permutation drawn from its generator), then per
    batch the eager mean loss, backward and `step(params)`; returns the mean loss over the rows."""
    per_batch_loss = CASES[loss][2]
    order = rng.permutation(len(X))
    total = 0.0
    for start in range(0, len(X), batch_size):
        rows = order[start : start + batch_size]
        model.zero_grad()
        batch_targets = targets[rows] if loss == "mse" else targets[rows].tolist()
        mean = per_batch_loss([model(x) for x in X[rows].tolist()], batch_targets)
        mean.backward()
        total += mean.data * len(rows)
        step(model.parameters())
    return total / len(X)


@pytest.mark.parametrize("loss", list(CASES))
def test_one_epoch_of_minibatch_sgd_equals_the_eager_steps_by_hand(loss):
    k, targets, _ = CASES[loss]
    lr, seed = 0.1, 3
    model = nn.MLP(2, [6, 5, k], activation="tanh", seed=4)
    by_hand = eager_copy(model)

    def sgd(params):
        for p in params:
            p.data -= lr * p.grad

    rng = np.random.default_rng(seed)
    expected_loss = eager_epoch(by_hand, X_SMALL, targets, loss, 5, rng, sgd)  # 5 + 5 + 2 rows
    history = nn.fit(
        model,
        X_SMALL,
        targets,
        loss=loss,
        optimizer=nn.SGD(model.parameters(), lr=lr),
        epochs=1,
        batch_size=5,
        seed=seed,
        progress=False,
    )
    np.testing.assert_allclose(
        [p.data for p in model.parameters()],
        [p.data for p in by_hand.parameters()],
        rtol=0,
        atol=1e-12,
    )
    assert history.loss[0] == pytest.approx(expected_loss, rel=1e-12)


OPTIMIZERS = {
    "sgd momentum decay": lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
    "adam decay": lambda ps: nn.Adam(ps, lr=0.01, weight_decay=0.01),
    "adamw": lambda ps: nn.AdamW(ps, lr=0.01, weight_decay=0.1),
}


@pytest.mark.parametrize("make", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
def test_fit_steps_with_the_given_optimizers_own_rule(make):
    """Two epochs through fit equal the same optimizer stepped on the eager gradients."""
    _, targets, _ = CASES["hinge"]
    model = nn.MLP(2, [6, 1], activation="tanh", seed=5)
    by_hand = eager_copy(model)
    eager_optimizer = make(by_hand.parameters())
    rng = np.random.default_rng(11)
    for _ in range(2):
        eager_epoch(by_hand, X_SMALL, targets, "hinge", 5, rng, lambda _: eager_optimizer.step())
    nn.fit(
        model,
        X_SMALL,
        targets,
        loss="hinge",
        optimizer=make(model.parameters()),
        epochs=2,
        batch_size=5,
        seed=11,
        progress=False,
    )
    np.testing.assert_allclose(
        [p.data for p in model.parameters()],
        [p.data for p in by_hand.parameters()],
        rtol=0,
        atol=1e-12,
    )


class InterruptedSGD(nn.SGD):
    """Plain SGD whose update number `stop` raises `error` instead of stepping."""

    def __init__(self, params, lr, stop, error):
        super().__init__(params, lr=lr)
        self.calls, self.stop, self.error = 0, stop, error

    def update(self, theta, grad):
        self.calls += 1
        if self.calls == self.stop:
            raise self.error
        return super().update(theta, grad)


@pytest.mark.parametrize("error", [KeyboardInterrupt(), RuntimeError("disk full")])
def test_an_error_in_epoch_two_leaves_the_parameters_of_the_last_completed_step(error):
    """fit keeps the numbers in a vector while it runs; stopping early still writes them back."""
    _, targets, _ = CASES["hinge"]
    lr, seed = 0.1, 2
    model = nn.MLP(2, [6, 1], activation="tanh", seed=6)
    by_hand = eager_copy(model)
    steps_done = 0

    def sgd_until_the_error(params):
        nonlocal steps_done
        steps_done += 1
        if steps_done < 5:  # batches of 5, 5, 2: update 5 is the second of epoch 2
            for p in params:
                p.data -= lr * p.grad

    rng = np.random.default_rng(seed)
    for _ in range(2):
        eager_epoch(by_hand, X_SMALL, targets, "hinge", 5, rng, sgd_until_the_error)
    optimizer = InterruptedSGD(model.parameters(), lr, stop=5, error=error)
    with pytest.raises(type(error)):
        nn.fit(model, X_SMALL, targets, optimizer=optimizer, epochs=3, batch_size=5, seed=seed)
    np.testing.assert_allclose(
        [p.data for p in model.parameters()],
        [p.data for p in by_hand.parameters()],
        rtol=0,
        atol=1e-12,
    )


def test_an_optimizer_value_outside_the_loss_gets_a_zero_gradient_and_its_decay():
    extra = Value(2.0, "extra")
    model = nn.MLP(2, [4, 1], seed=0)
    optimizer = nn.SGD([*model.parameters(), extra], lr=0.1, weight_decay=0.5)
    nn.fit(model, X4, [1, -1, 1, -1], optimizer=optimizer, epochs=2, batch_size=4, progress=False)
    assert extra.data == pytest.approx(2.0 * (1 - 0.1 * 0.5) ** 2, rel=1e-15)


def test_fit_refuses_an_optimizer_that_is_not_an_nn_optimizer():
    class Mine:
        def step(self):
            pass

        def zero_grad(self):
            pass

    with pytest.raises(TypeError, match=r"^fit: optimizer must be an nn optimizer.*\(got Mine\)"):
        nn.fit(nn.MLP(2, [3, 1], seed=0), X4, [1, -1, 1, -1], optimizer=Mine(), progress=False)


# --- predict and labels_from ----------------------------------------------------------------


@pytest.mark.parametrize("nouts", [[8, 1], [8, 6, 3]])
def test_predict_equals_the_eager_model_row_by_row(nouts):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(25, 4))
    model = nn.MLP(4, nouts, activation="tanh", seed=2)
    out = nn.predict(model, X)
    rows = [model(x) for x in X.tolist()]
    expected = np.array([r.data if nouts[-1] == 1 else [v.data for v in r] for r in rows])
    assert out.shape == expected.shape == ((25,) if nouts[-1] == 1 else (25, 3))
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-14)


def test_predict_reads_the_parameters_current_numbers():
    X = np.array([[0.5, -1.0], [2.0, 0.25]])
    model = nn.MLP(2, [3, 1], seed=0)
    first = nn.predict(model, X)
    for p in model.parameters():
        p.data *= -0.5
    np.testing.assert_allclose(
        nn.predict(model, X), [model(x).data for x in X.tolist()], rtol=1e-12, atol=1e-14
    )
    assert not np.allclose(nn.predict(model, X), first)


def test_labels_from_each_rule():
    scores = np.array([-2.0, 0.5, 0.0, 3.0])
    np.testing.assert_array_equal(nn.labels_from(scores, "sign"), [-1, 1, -1, 1])
    np.testing.assert_array_equal(nn.labels_from(scores, "positive"), [0, 1, 0, 1])
    logits = np.array([[0.1, 0.9, 0.0], [2.0, -1.0, 1.0]])
    np.testing.assert_array_equal(nn.labels_from(logits, "argmax"), [1, 0])
    with pytest.raises(ValueError, match="sign, positive, argmax"):
        nn.labels_from(scores, "max")
    with pytest.raises(ValueError, match=r"shape \(N, k\)"):
        nn.labels_from(scores, "argmax")


# --- bad input ------------------------------------------------------------------------------

X4 = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]


@pytest.mark.parametrize(
    ("X", "y", "kwargs", "match"),
    [
        (X4, [1, -1, 1, -1], {"loss": "cross_entropy"}, "'hinge', 'bce', 'softmax_ce', 'mse'"),
        (X4, [1, -1, 1], {}, "same number of rows.*4 and 3"),
        (X4, [1, 0, 1, 0], {"loss": "hinge"}, r"-1 and 1.*2\*y - 1"),
        (X4, [1, 2, 1, 0], {"loss": "bce"}, "0 and 1"),
        (X4, [0.0, 1.0, 1.0, 0.0], {"loss": "softmax_ce"}, "class indices"),
        (X4, [0, 1, 5, 0], {"loss": "softmax_ce"}, "one model output per class"),
        (X4, [1, -1, 1, -1], {"epochs": 0}, "epochs must be a positive int"),
        (X4, [1, -1, 1, -1], {"batch_size": 2.5}, "batch_size must be a positive int"),
        (X4, [1, -1, 1, -1], {"weight_decay": -0.1}, "weight_decay must be >= 0"),
        ([[0.0, 1.0], [np.nan, 0.0], [1, 1], [0, 0]], [1, -1, 1, -1], {}, "finite"),
        ([0.0, 1.0, 1.0, 0.0], [1, -1, 1, -1], {}, "2-d array"),
        (X4, 1, {}, "one target per row"),
    ],
)
def test_fit_refuses_bad_input_with_a_clear_message(X, y, kwargs, match):
    k = 3 if kwargs.get("loss") == "softmax_ce" else 1
    model = nn.MLP(2, [4, k], seed=0)
    before = [p.data for p in model.parameters()]
    with pytest.raises(ValueError, match=match):
        nn.fit(model, X, y, progress=False, **kwargs)
    np.testing.assert_allclose([p.data for p in model.parameters()], before, rtol=0, atol=0)


def test_predict_refuses_nan_and_a_flat_vector():
    model = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match="finite"):
        nn.predict(model, [[0.0, np.inf]])
    with pytest.raises(ValueError, match="2-d array"):
        nn.predict(model, [0.0, 1.0])


# --- progress -------------------------------------------------------------------------------


def test_progress_false_prints_nothing(moons, capsys):
    X, y = moons
    nn.fit(nn.MLP(2, [4, 1], seed=0), X, 2 * y - 1, epochs=3, progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_progress_without_tqdm_is_one_updating_line(moons, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    X, y = moons
    nn.fit(nn.MLP(2, [4, 1], seed=0), X, 2 * y - 1, epochs=3, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.endswith("\n")
    assert captured.err.count("\r") == 3
    final = captured.err.rsplit("\r", 1)[-1]
    assert final.startswith("epoch 3/3") and "loss" in final and "acc" in final


def test_predict_goes_in_chunks_and_keeps_no_batch_alive(monkeypatch):
    """Rows beyond one chunk give the same outputs, and no replayed batch stays in memory."""
    monkeypatch.setattr(nn.train, "PREDICT_CHUNK", 7)
    replays = []
    forward = Tape.forward

    def spy(tape, X, theta=None, *, keep=True):
        replays.append((tape, len(X), keep))
        return forward(tape, X, theta, keep=keep)

    monkeypatch.setattr(Tape, "forward", spy)
    model = nn.MLP(2, [3, 2], seed=1)
    X = np.random.default_rng(0).normal(size=(20, 2))
    expected = np.array([[y.data for y in model(list(row))] for row in X])
    np.testing.assert_allclose(nn.predict(model, X), expected, rtol=1e-12)
    assert [(rows, keep) for _, rows, keep in replays] == [(7, False), (7, False), (6, False)]
    assert replays[0][0]._values is None


# --- predict and fit follow the model as it is now ----------------------------------------


def eager_outputs(model, X):
    return np.array([model(x).data for x in X.tolist()])


def test_predict_follows_layers_swapped_in_after_an_earlier_predict():
    X = np.random.default_rng(3).normal(size=(10, 2))
    model, other = nn.MLP(2, [4, 1], seed=0), nn.MLP(2, [4, 1], seed=1)
    nn.predict(model, X)
    model.layers = other.layers
    np.testing.assert_allclose(nn.predict(model, X), eager_outputs(other, X), rtol=1e-12)


def test_predict_follows_an_attribute_that_the_modules_call_reads():
    class Scaled(nn.Module):
        def __init__(self):
            self.w = Value(2.0, "w")
            self.scale = 1.0

        def children(self):
            return [("w", self.w)]

        def __call__(self, x):
            return self.w * x[0] * self.scale

    model = Scaled()
    X = np.array([[1.0], [-3.0]])
    np.testing.assert_allclose(nn.predict(model, X), [2.0, -6.0], rtol=1e-15)
    model.scale = -0.5
    np.testing.assert_allclose(nn.predict(model, X), [-1.0, 3.0], rtol=1e-15)


def test_fit_reports_the_accuracy_of_the_layers_it_trained(moons):
    X, y = moons
    labels = 2 * y - 1
    good = nn.MLP(2, [16, 16, 1], seed=0)
    nn.fit(good, X, labels, epochs=60, seed=0, progress=False)
    model = nn.MLP(2, [16, 16, 1], seed=5)
    nn.predict(model, X)  # an earlier trace of the layers about to be replaced
    model.layers = good.layers
    history = nn.fit(
        model, X, labels, optimizer=nn.SGD(model.parameters(), lr=1e-3), epochs=1, progress=False
    )
    assert history.accuracy[-1] == pytest.approx(eager_accuracy(model, X, labels), abs=1e-12)
    assert history.accuracy[-1] >= 0.95


def test_fit_refuses_an_optimizer_over_another_models_parameters():
    model, other = nn.MLP(2, [4, 1], seed=0), nn.MLP(2, [4, 1], seed=1)
    before = other.state_dict()
    with pytest.raises(ValueError, match=r"optimizer must hold this model's parameters.*nothing"):
        nn.fit(model, X4, [1, -1, 1, -1], optimizer=nn.SGD(other.parameters(), lr=0.1))
    assert other.state_dict() == before


def test_fit_accepts_an_optimizer_over_part_of_the_model():
    """Training only the last layer (the rest frozen) is a choice, not a slip."""
    model = nn.MLP(2, [4, 1], seed=0)
    first = model.layers[0].weights()
    last = model.layers[1].parameters()
    nn.fit(model, X4, [1, -1, 1, -1], optimizer=nn.SGD(last, lr=0.1), epochs=3, progress=False)
    np.testing.assert_array_equal(model.layers[0].weights(), first)


# --- inputs that would be coerced silently are refused ------------------------------------

NOT_REAL = {
    "complex": np.array(X4) + 1j,
    "masked": np.ma.masked_array(X4, mask=np.eye(4, 2, dtype=bool)),
    "datetime": np.array([["2020-01-01", "2020-01-02"]] * 4, dtype="datetime64[D]"),
    "numeric-strings": [["0.0", "1.0"]] * 4,
    "bool": np.array(X4, dtype=bool),
    "none": [[0.0, None]] * 4,
}


@pytest.mark.parametrize("X", NOT_REAL.values(), ids=NOT_REAL.keys())
def test_fit_and_predict_refuse_arrays_that_are_not_real_numbers(X):
    model = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(TypeError, match=r"^predict: X must be an array of real numbers \(got"):
        nn.predict(model, X)
    with pytest.raises(TypeError, match=r"^fit: X must be an array of real numbers \(got"):
        nn.fit(model, X, [1, -1, 1, -1], progress=False)


@pytest.mark.parametrize(
    "y", [np.array([1, -1, 1, -1]) + 0j, np.ma.masked_array([1, -1, 1, -1], mask=[0, 1, 0, 0])]
)
def test_fit_refuses_targets_that_are_not_real_numbers(y):
    with pytest.raises(TypeError, match=r"^fit: y must be an array of real numbers"):
        nn.fit(nn.MLP(2, [3, 1], seed=0), X4, y, progress=False)


def test_one_hot_targets_for_softmax_ce_get_the_fix_in_the_message():
    with pytest.raises(ValueError, match=r"one-hot rows.*shape \(4, 3\).*y\.argmax\(axis=1\)"):
        nn.fit(nn.MLP(2, [4, 3], seed=0), X4, np.eye(3)[[0, 1, 2, 0]], loss="softmax_ce")


@pytest.mark.parametrize("call", [nn.predict, lambda m, X: nn.fit(m, X, [1, -1, 1, -1])])
def test_a_model_that_is_not_a_module_is_named(call):
    with pytest.raises(TypeError, match=r"model must be an nn Module.*\(got NoneType\)"):
        call(None, X4)


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True, [1, 2]])
def test_fit_refuses_a_bad_seed_saying_what_a_seed_is(seed):
    with pytest.raises(
        ValueError, match=r"^fit: seed must be an int >= 0, a numpy Generator or None"
    ):
        nn.fit(nn.MLP(2, [3, 1], seed=0), X4, [1, -1, 1, -1], seed=seed, progress=False)


def test_fit_takes_a_generator_as_its_seed():
    runs = [
        nn.fit(
            nn.MLP(2, [3, 1], seed=0),
            X4,
            [1, -1, 1, -1],
            epochs=3,
            batch_size=1,
            seed=np.random.default_rng(4),
            progress=False,
        ).loss
        for _ in range(2)
    ]
    assert runs[0] == runs[1]


@pytest.mark.parametrize(("big", "weight_decay"), [(1e200, 0.5), (1.0, 1e308)])
def test_weight_decay_that_overflows_is_named_and_changes_nothing(big, weight_decay):
    model = nn.MLP(2, [3, 1], seed=0)
    model.layers[-1].neurons[0].b.data = big  # a bias: the forward pass itself stays finite
    before = model.state_dict()
    with pytest.raises(FloatingPointError, match=r"would be inf.*nothing was changed"):
        nn.fit(model, X4, [1, -1, 1, -1], weight_decay=weight_decay, progress=False)
    assert model.state_dict() == before
