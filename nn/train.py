"""Training and prediction over whole data sets, fast: through `autodiff.trace`.

`fit` records the per-sample loss of a model once, then replays it with numpy over each
mini-batch at the parameters' numbers kept in one vector, and steps that vector with the
optimizer's `update`: an epoch costs a few numpy calls per layer and batch instead of a graph per
sample and a Python loop over the parameters; the gradients are the same numbers the eager engine
gives (the tape's tests hold it to that).
"""

from __future__ import annotations

import sys
import time
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

# Rows per replay in `predict` and in fit's accuracy: few enough that a small network's matrix
# products stay under the size where BLAS splits them across threads, which on a busy machine
# made them up to 20 times slower, and that the replay's blocks stay in cache.
PREDICT_CHUNK = 128


@dataclass
class History:
    """What `fit` saw, one entry per epoch: mean training loss, and accuracy when classifying."""

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    seconds: float = 0.0


def predict(model: Module, X: Any) -> np.ndarray:
    """The model's outputs for every row of X: shape (N,) for one output, else (N, k).

    The model is traced afresh at each call, so the numbers are those `model(row)` gives now,
    whatever changed in the model since (its parameters' numbers, its layers, any attribute its
    `__call__` reads); the trace is replayed with numpy. Tracing costs about as much as a few
    rows evaluated one by one (0.6 ms for `MLP(2, [16, 16, 1])`), while a cached trace could not
    notice every such change.
    """
    _require_module(model, "predict")
    X = _rows(X, "predict: X")
    return _replay(_trace_model(model, X.shape[1]), X)


def _trace_model(model: Module, nin: int) -> Tape:
    return trace(lambda *xs: model(list(xs)), nin)


def _replay(tape: Tape, X: np.ndarray) -> np.ndarray:
    """The tape's outputs for the rows of X, in chunks: a replay holds a number per graph node
    per row, so the chunks bound the memory. The parameters' numbers are read once for all."""
    theta = tape.theta()
    chunks = range(0, len(X), PREDICT_CHUNK)
    return np.concatenate(
        [tape.forward(X[i : i + PREDICT_CHUNK], theta, keep=False) for i in chunks]
    )


def _require_module(model: Any, where: str) -> None:
    if not isinstance(model, Module):
        raise TypeError(
            f"{where}: model must be an nn Module, such as nn.MLP(2, [16, 1]) "
            f"(got {type(model).__name__})"
        )


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
    output). `optimizer` defaults to Adam(lr=0.01, weight_decay=weight_decay) over the model's
    parameters; `weight_decay` has PyTorch's meaning (λ·p added to each gradient, the gradient
    of the penalty λ/2·Σp²) and is for that default only: give your own optimizer its own
    `weight_decay` (AdamW's is decoupled). History.loss is the mean of the loss over the rows,
    without any decay. Each epoch visits the rows in an order drawn from `seed`.

    The parameters' numbers live in one numpy vector while training: each mini-batch is a
    tape replay at those numbers and one `optimizer.update` on the vector, the very numbers
    the eager engine gives. They are written back to the Values after every epoch, and when
    fit stops early for any reason (an error, Ctrl-C), they hold the last completed step.
    Progress shows with tqdm when it is installed, as one updating line otherwise.
    """
    _require_module(model, "fit")
    loss = checks.one_of(loss, _LOSSES, "fit: loss")
    epochs = checks.size(epochs, "fit: epochs")
    batch_size = checks.size(batch_size, "fit: batch_size")
    weight_decay = checks.number(weight_decay, "fit: weight_decay")
    if weight_decay < 0:
        raise ValueError(f"fit: weight_decay must be >= 0 (got {weight_decay})")
    if weight_decay and optimizer is not None:
        raise ValueError(
            f"fit: weight_decay must be 0 when an optimizer is given (got {weight_decay!r}); "
            "give it to the optimizer instead, e.g. "
            f"nn.Adam(model.parameters(), weight_decay={weight_decay!r})"
        )
    rng = np.random.default_rng(checks.seed(seed, "fit: seed"))
    X = _rows(X, "fit: X")
    nin = X.shape[1]
    # the model's structure cannot change during fit, so one trace serves every epoch's accuracy
    outputs_tape = _trace_model(model, nin)
    targets, labels = _target_columns(y, loss, len(X), outputs_tape.n_outputs)
    per_sample, rule = _LOSSES[loss]

    def sample_loss(*columns: Value) -> Value:
        outputs = model(list(columns[:nin]))
        outputs = [outputs] if isinstance(outputs, Value) else outputs
        return per_sample(outputs, list(columns[nin:]))

    tape = trace(sample_loss, nin + targets.shape[1])
    data = np.hstack([X, targets])
    if optimizer is None:
        optimizer = Adam(model.parameters(), lr=0.01, weight_decay=weight_decay)
    else:
        _check_optimizer(optimizer, tape.parameters)
    steps = _VectorSteps(tape, optimizer)
    history = History()
    started = time.perf_counter()
    try:
        with _Progress(epochs, progress) as bar:
            for _ in range(epochs):
                total = 0.0
                for batch in _batches(data, batch_size, rng):
                    total += steps.step(batch)
                steps.write_back()
                history.loss.append(float(total / len(data)))
                if rule is not None:
                    predicted = labels_from(_replay(outputs_tape, X), rule)
                    history.accuracy.append(float(np.mean(predicted == labels)))
                bar.update(history)
    finally:
        steps.write_back()
    history.seconds = time.perf_counter() - started
    return history


class _VectorSteps:
    """Training steps on numpy vectors: the tape's parameters and the optimizer's.

    The optimizer may hold a part of the tape's parameters (the rest stay as they are) and
    Values the loss does not depend on (their gradient is 0).
    """

    def __init__(self, tape: Tape, optimizer: Optimizer) -> None:
        self.tape, self.optimizer = tape, optimizer
        self.params = optimizer.params
        position = {p: i for i, p in enumerate(tape.parameters)}
        found = [position.get(p, -1) for p in self.params]
        self.in_tape = np.array([i >= 0 for i in found])
        self.rows = np.array([i for i in found if i >= 0], dtype=np.intp)
        self.tape_theta = np.array([p.data for p in tape.parameters], dtype=float)
        self.theta = np.array([p.data for p in self.params], dtype=float)
        self.grad = np.zeros(len(self.params))
        # the usual case, the optimizer holding the tape's parameters in the tape's order: the
        # vectors are the same, with nothing to gather or scatter
        self.same = self.params == tape.parameters

    def step(self, batch: np.ndarray) -> float:
        """One optimizer update on the batch's mean gradient; returns the batch's summed loss."""
        if self.same:
            losses = self.tape.forward(batch, theta=self.theta)
            self.theta = self.optimizer.update(self.theta, self.tape.gradient("mean"))
            return float(losses.sum())
        self.tape_theta[self.rows] = self.theta[self.in_tape]
        losses = self.tape.forward(batch, theta=self.tape_theta)
        self.grad[self.in_tape] = self.tape.gradient("mean")[self.rows]
        self.theta = self.optimizer.update(self.theta, self.grad)
        return float(losses.sum())

    def write_back(self) -> None:
        """Give the optimizer's Values the numbers of the last completed step."""
        for p, number in zip(self.params, self.theta.tolist(), strict=True):
            p.data = number


def _check_optimizer(optimizer: Any, trained: list[Value]) -> None:
    """An optimizer that moves none of the Values the loss depends on would train nothing."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            "fit: optimizer must be an nn optimizer (SGD, Adam, AdamW), such as "
            f"nn.Adam(model.parameters()) (got {type(optimizer).__name__})"
        )
    if set(optimizer.params).isdisjoint(trained):
        raise ValueError(
            f"fit: optimizer must hold this model's parameters (got one over "
            f"{len(optimizer.params)} other Values, so fit would train nothing); build it from "
            "model.parameters()"
        )


def _batches(data: np.ndarray, size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    order = rng.permutation(len(data))
    for start in range(0, len(data), size):
        yield data[order[start : start + size]]


def _rows(X: Any, where: str) -> np.ndarray:
    """X as a non-empty 2-d float array of finite real numbers, one sample per row."""
    X = checks.real_array(X, where, ndim=2)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{where} must have at least one row and one column (got shape {X.shape})")
    return X


def _target_columns(y_given: Any, loss: str, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The targets as the tape's extra input columns, checked against `loss` and k outputs;
    and the labels accuracy compares with (the targets themselves for mse)."""
    y = checks.real_array(y_given, "fit: y")  # refuses what it cannot read as real numbers first
    integers = np.asarray(y_given).dtype.kind in "iu"
    if y.ndim == 0:
        raise ValueError(f"fit: y must hold one target per row of X (got a single {y.item()!r})")
    if len(y) != n:
        raise ValueError(f"fit: X and y must have the same number of rows (got {n} and {len(y)})")
    if loss == "mse":
        columns = y.reshape(n, -1)
        return columns, columns
    if y.ndim > 1 and y[0].size > 1:
        hint = "; for one-hot rows pass y.argmax(axis=1)" if loss == "softmax_ce" else ""
        raise ValueError(
            f"fit: {loss} needs y as one label per row, shape ({n},) "
            f"(got one-hot rows or several columns, shape {y.shape}){hint}"
        )
    labels = y.reshape(n)
    if loss == "softmax_ce":
        if not integers or labels.min() < 0:
            raise ValueError(
                "fit: softmax_ce needs y as class indices 0, 1, 2, ... (integers) "
                f"(got {checks.shown(labels[:4].tolist())})"
            )
        if k < 2 or labels.max() >= k:
            raise ValueError(
                f"fit: softmax_ce needs one model output per class, at least 2, and labels "
                f"0..{k - 1} (got {k} outputs and labels up to {labels.max():g})"
            )
        # as wide as the model's outputs: a class absent from y still has its column
        classes = labels.astype(int)
        return np.eye(k)[classes], classes
    allowed, hint = ({-1, 1}, "; for 0/1 labels pass 2*y - 1") if loss == "hinge" else ({0, 1}, "")
    found = set(np.unique(labels).tolist())
    if not found <= allowed:
        shown = " and ".join(map(str, sorted(allowed)))
        raise ValueError(f"fit: {loss} needs labels {shown} (got {sorted(found)[:5]}){hint}")
    return labels.reshape(n, 1), labels


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
