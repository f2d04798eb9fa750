"""nn.fit and nn.predict: training through the numpy tape agrees with the eager engine.

Expected gradients come from the eager graph (`model(x)` per row, the loss from nn.losses,
`backward()`), an independent path from the tape that `fit` replays.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

import nn
from autodiff import Tape


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


def test_weight_decay_adds_two_lambda_p_to_every_gradient():
    lam, lr = 0.05, 0.1
    k, targets, _ = CASES["hinge"]
    model = nn.MLP(2, [5, k], activation="tanh", seed=8)
    expected_loss, before, grads = eager_loss_and_grads(eager_copy(model), "hinge", lam)
    _, _, plain = eager_loss_and_grads(eager_copy(model), "hinge")
    np.testing.assert_allclose(grads - plain, 2 * lam * before, rtol=1e-9, atol=1e-12)
    history = nn.fit(
        model,
        X_SMALL,
        targets,
        loss="hinge",
        optimizer=nn.SGD(model.parameters(), lr=lr),
        epochs=1,
        batch_size=len(X_SMALL),
        weight_decay=lam,
        progress=False,
    )
    after = np.array([p.data for p in model.parameters()])
    np.testing.assert_allclose((before - after) / lr, grads, rtol=1e-9, atol=1e-12)
    assert history.loss[0] == pytest.approx(expected_loss, rel=1e-12)


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

    def spy(tape, X, *, keep=True):
        replays.append((tape, len(X), keep))
        return forward(tape, X, keep=keep)

    monkeypatch.setattr(Tape, "forward", spy)
    model = nn.MLP(2, [3, 2], seed=1)
    X = np.random.default_rng(0).normal(size=(20, 2))
    expected = np.array([[y.data for y in model(list(row))] for row in X])
    np.testing.assert_allclose(nn.predict(model, X), expected, rtol=1e-12)
    assert [(rows, keep) for _, rows, keep in replays] == [(7, False), (7, False), (6, False)]
    assert replays[0][0]._values is None
