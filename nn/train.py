"""Training and prediction over whole data sets, fast: through `autodiff.trace`.

`fit` records the per-sample loss of a model once, then replays it with numpy over each
mini-batch, so an epoch costs a few numpy calls per layer instead of a graph per sample; the
gradients are the same numbers the eager engine gives (the tape's tests hold it to that).
"""

from __future__ import annotations

import sys
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autodiff import Tape, Value, checks, trace
from nn.losses import binary_cross_entropy_with_logits, hinge_loss, mse, softmax_cross_entropy
from nn.module import Module
from nn.optim import Adam, Optimizer

# Each loss: the per-sample loss from the model's outputs and the target columns, and how a
# row of outputs becomes a predicted label (None: regression, no accuracy).
_LOSSES: dict[str, tuple[Callable[[list[Value], list[Value]], Value], str | None]] = {
    "hinge": (lambda outs, ts: hinge_loss(outs, ts), "sign"),
    "bce": (lambda outs, ts: binary_cross_entropy_with_logits(outs, ts), "positive"),
    "softmax_ce": (lambda outs, ts: softmax_cross_entropy(outs, ts), "argmax"),
    "mse": (lambda outs, ts: mse(outs, ts), None),
}

PREDICT_CHUNK = 1024  # rows per replay in `predict`

_predict_tapes: weakref.WeakKeyDictionary[Module, Tape] = weakref.WeakKeyDictionary()


@dataclass
class History:
    """What `fit` saw, one entry per epoch: mean training loss, and accuracy when classifying."""

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    seconds: float = 0.0


def predict(model: Module, X: Any) -> np.ndarray:
    """The model's outputs for every row of X: shape (N,) for one output, else (N, k).

    The model is traced once (the tape is kept while the model lives) and replayed with numpy,
    reading the parameters' current numbers at every call.
    """
    X = _as_matrix(X, "predict: X")
    tape = _model_tape(model, X.shape[1])
    # a batch's replay holds a number per graph node per row: bound it by going in chunks
    chunks = [
        tape.forward(X[i : i + PREDICT_CHUNK], keep=False) for i in range(0, len(X), PREDICT_CHUNK)
    ]
    return np.concatenate(chunks)


def _model_tape(model: Module, nin: int) -> Tape:
    """The model traced on `nin` inputs, kept while the model lives (it reads current numbers)."""
    tape = _predict_tapes.get(model)
    if tape is None or tape.n_inputs != nin:
        tape = trace(lambda *xs: model(list(xs)), nin)
        _predict_tapes[model] = tape
    return tape


def labels_from(outputs: np.ndarray, rule: str) -> np.ndarray:
    """Predicted labels from model outputs: ±1 by sign, 0/1 by sign, or the argmax class.

    `rule` is "sign" (hinge), "positive" (bce on logits) or "argmax" (softmax_ce, outputs of
    shape (N, k)).
    """
    outputs = np.asarray(outputs)
    if rule == "sign":
        return np.where(outputs > 0, 1, -1)
    if rule == "positive":
        return (outputs > 0).astype(int)
    if rule != "argmax":
        raise ValueError(f"labels_from: rule must be one of sign, positive, argmax (got {rule!r})")
    if outputs.ndim != 2:
        raise ValueError(
            f"labels_from: argmax needs outputs of shape (N, k) (got shape {outputs.shape})"
        )
    return outputs.argmax(axis=1)


def fit(
    model: Module,
    X: Any,
    y: Any,
    *,
    loss: str = "hinge",
    optimizer: Optimizer | None = None,
    epochs: int = 100,
    batch_size: int = 32,
    weight_decay: float = 0.0,
    seed: int | None = 0,
    progress: bool = True,
) -> History:
    """Train `model` on rows X with targets y by mini-batch gradient descent; return a History.

    `loss` is "hinge" (labels ±1, micrograd's demo), "bce" (labels 0/1, outputs are logits),
    "softmax_ce" (class indices 0..k-1, one output per class) or "mse" (numbers, one per
    output). `optimizer` defaults to Adam(lr=0.01) over the model's parameters. Each epoch
    visits the rows in an order drawn from `seed`; `weight_decay` adds λ·Σp² to the loss.
    Progress shows with tqdm when it is installed, as one updating line otherwise.
    """
    if loss not in _LOSSES:
        raise ValueError(f"fit: loss must be one of {', '.join(_LOSSES)} (got {loss!r})")
    epochs = checks.size(epochs, "fit: epochs")
    batch_size = checks.size(batch_size, "fit: batch_size")
    weight_decay = checks.number(weight_decay, "fit: weight_decay")
    if weight_decay < 0:
        raise ValueError(f"fit: weight_decay must be >= 0 (got {weight_decay})")
    X = _as_matrix(X, "fit: X")
    nin = X.shape[1]
    targets = _target_columns(y, loss, len(X), _model_tape(model, nin).n_outputs)
    per_sample, rule = _LOSSES[loss]

    def sample_loss(*columns: Value) -> Value:
        outputs = model(list(columns[:nin]))
        outputs = [outputs] if isinstance(outputs, Value) else outputs
        return per_sample(outputs, list(columns[nin:]))

    tape = trace(sample_loss, nin + targets.shape[1])
    data = np.hstack([X, targets])
    params = model.parameters()
    optimizer = optimizer if optimizer is not None else Adam(params, lr=0.01)
    rng = np.random.default_rng(seed)
    history = History()
    started = time.perf_counter()
    with _Progress(epochs, progress) as bar:
        for _ in range(epochs):
            total = 0.0
            for batch in _batches(data, batch_size, rng):
                losses = tape.forward(batch)
                total += losses.sum()
                optimizer.zero_grad()
                tape.backward("mean")
                if weight_decay:
                    # the penalty at the numbers this batch's loss was computed with
                    total += len(batch) * weight_decay * sum(p.data**2 for p in params)
                    for p in params:
                        p.grad += 2.0 * weight_decay * p.data
                optimizer.step()
            history.loss.append(float(total / len(data)))
            if rule is not None:
                predicted = labels_from(predict(model, X), rule)
                history.accuracy.append(float(np.mean(predicted == _labels(y, loss))))
            bar.update(history)
    history.seconds = time.perf_counter() - started
    return history


def _batches(data: np.ndarray, size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    order = rng.permutation(len(data))
    for start in range(0, len(data), size):
        yield data[order[start : start + size]]


def _as_matrix(X: Any, where: str) -> np.ndarray:
    try:
        X = np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{where} must be an array of numbers (got {type(X).__name__})") from None
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{where} must be a non-empty 2-d array of rows (got shape {X.shape})")
    if not np.isfinite(X).all():
        raise ValueError(f"{where} must be finite (got NaN or inf)")
    return X


def _labels(y: Any, loss: str) -> np.ndarray:
    return np.asarray(y).reshape(len(y)) if loss != "mse" else np.asarray(y)


def _target_columns(y: Any, loss: str, n: int, k: int) -> np.ndarray:
    """The targets as the tape's extra input columns, checked against `loss` and k outputs."""
    y = np.asarray(y)
    if y.ndim == 0:
        raise ValueError(f"fit: y must hold one target per row of X (got a single {y.item()!r})")
    if len(y) != n:
        raise ValueError(f"fit: X and y must have the same number of rows (got {n} and {len(y)})")
    if loss == "mse":
        return _as_matrix(y.reshape(n, -1), "fit: y")
    labels = y.reshape(n)
    if loss == "softmax_ce":
        if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
            raise ValueError("fit: softmax_ce needs y as class indices 0, 1, 2, ... (integers)")
        if k < 2 or labels.max() >= k:
            raise ValueError(
                f"fit: softmax_ce needs one model output per class, at least 2, and labels "
                f"0..{k - 1} (got {k} outputs and labels up to {labels.max()})"
            )
        # as wide as the model's outputs: a class absent from y still has its column
        return np.eye(k)[labels]
    allowed, hint = ({-1, 1}, "; for 0/1 labels pass 2*y - 1") if loss == "hinge" else ({0, 1}, "")
    found = set(np.unique(labels).tolist())
    if not found <= allowed:
        shown = " and ".join(map(str, sorted(allowed)))
        raise ValueError(f"fit: {loss} needs labels {shown} (got {sorted(found)[:5]}){hint}")
    return labels.reshape(n, 1).astype(float)


class _Progress:
    """Epoch progress: tqdm when installed, one updating line otherwise, nothing when off."""

    def __init__(self, epochs: int, enabled: bool) -> None:
        self.epochs, self.enabled, self.bar = epochs, enabled, None
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                pass
            else:
                self.bar = tqdm(total=epochs, unit="epoch", leave=True)

    def __enter__(self) -> _Progress:
        return self

    def update(self, history: History) -> None:
        if not self.enabled:
            return
        stats = {"loss": f"{history.loss[-1]:.4f}"}
        if history.accuracy:
            stats["acc"] = f"{history.accuracy[-1]:.3f}"
        if self.bar is not None:
            self.bar.set_postfix(stats, refresh=False)
            self.bar.update(1)
            return
        shown = "  ".join(f"{k} {v}" for k, v in stats.items())
        width = len(str(self.epochs))
        sys.stderr.write(f"\repoch {len(history.loss):>{width}}/{self.epochs}  {shown}")
        sys.stderr.flush()

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.enabled:
            sys.stderr.write("\n")
