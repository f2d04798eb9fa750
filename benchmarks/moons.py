"""W1: one training step of micrograd's two-moons demo, done by five engines.

Every engine holds an MLP(2, [16, 16, 1]) (relu hidden, linear output) and does the same step:
loss = mean(relu(1 - y * score)) + ALPHA * sum(p * p), its gradient, p <- p - LR * gradient
(on the Values with zeroed grads, or on a vector of the parameters' numbers). Each can load
weights given as matrices and hand back its loss and gradients as matrices, which is what lets
one check show that all of them compute the same numbers.
"""

from __future__ import annotations

import gc
import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
from micrograd.nn import MLP as MgMLP

import autodiff
import nn

SIZES = (2, 16, 16, 1)
ALPHA = 1e-4
LR = 0.01

# One (W, b) per layer, W of shape (nout, nin): z = W x + b.
Weights = list[tuple[np.ndarray, np.ndarray]]


def make_moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interlocking half circles: points X of shape (n, 2), labels y of -1 (upper), +1."""
    upper = n // 2
    angle = rng.uniform(0.0, math.pi, n)
    points = np.where(
        (np.arange(n) < upper)[:, None],
        np.column_stack([np.cos(angle), np.sin(angle)]),
        np.column_stack([1.0 - np.cos(angle), 0.5 - np.sin(angle)]),
    )
    points += rng.normal(0.0, noise, points.shape)
    labels = np.where(np.arange(n) < upper, -1.0, 1.0)
    order = rng.permutation(n)
    return points[order], labels[order]


def random_weights(rng: np.random.Generator) -> Weights:
    """Weights uniform in (-1, 1) as micrograd draws them; biases small and nonzero."""
    return [
        (rng.uniform(-1.0, 1.0, (nout, nin)), rng.uniform(-0.1, 0.1, nout))
        for nin, nout in itertools.pairwise(SIZES)
    ]


class Engine(Protocol):
    """What the W1 driver needs from each engine."""

    def load(self, weights: Weights) -> None:
        """Copy the numbers of `weights` into the model's parameters."""

    def use_batch(self, points: np.ndarray, labels: np.ndarray) -> None:
        """Make this the batch of every later step (converted here, off the clock)."""

    def loss_and_grads(self) -> tuple[float, Weights]:
        """Loss and gradients at the current weights and batch; the weights stay as they are."""

    def step(self) -> None:
        """One training step on the batch."""


class _ValueGrid:
    """A Value-based MLP's parameters laid out as weight matrices and bias vectors.

    micrograd's MLP and ours share the structure: `layers[l].neurons[j].w[k]` is W_l[j, k] and
    `.b` is b_l[j].
    """

    def __init__(self, model: Any) -> None:
        self.layers = [
            ([n.w for n in layer.neurons], [n.b for n in layer.neurons]) for layer in model.layers
        ]
        self.all = [
            p for rows, biases in self.layers for p in [*(q for r in rows for q in r), *biases]
        ]

    def load(self, weights: Weights) -> None:
        for (rows, biases), (w, b) in zip(self.layers, weights, strict=True):
            for row, numbers in zip(rows, w.tolist(), strict=True):
                for p, number in zip(row, numbers, strict=True):
                    p.data = number
            for p, number in zip(biases, b.tolist(), strict=True):
                p.data = number

    def grads(self) -> Weights:
        return [
            (np.array([[p.grad for p in row] for row in rows]), np.array([p.grad for p in biases]))
            for rows, biases in self.layers
        ]

    def zero_grad(self) -> None:
        for p in self.all:
            p.grad = 0.0

    def unflatten(self, numbers: np.ndarray) -> Weights:
        """Numbers in the order of `all` laid out as the grid's matrices and vectors."""
        laid_out: Weights = []
        start = 0
        for rows, _ in self.layers:
            nout, nin = len(rows), len(rows[0])
            w = numbers[start : start + nout * nin].reshape(nout, nin)
            start += nout * nin
            laid_out.append((w, numbers[start : start + nout]))
            start += nout
        return laid_out


def _eager_loss(
    model: Callable[[list[float]], Any],
    params: Sequence[Any],
    rows: list[list[float]],
    labels: list[float],
) -> Any:
    """The demo's loss written as micrograd users write it; works for both Value classes."""
    scores = [model(row) for row in rows]
    hinge = sum((1 - y * s).relu() for y, s in zip(labels, scores, strict=True))
    return hinge * (1.0 / len(rows)) + ALPHA * sum(p * p for p in params)


class _EagerEngine:
    """Shared by micrograd and ours eager: build the whole graph each step, then backward."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.grid = _ValueGrid(model)
        self.rows: list[list[float]] = []
        self.labels: list[float] = []

    def load(self, weights: Weights) -> None:
        self.grid.load(weights)

    def use_batch(self, points: np.ndarray, labels: np.ndarray) -> None:
        self.rows, self.labels = points.tolist(), labels.tolist()

    def loss_and_grads(self) -> tuple[float, Weights]:
        self.grid.zero_grad()
        loss = _eager_loss(self.model, self.grid.all, self.rows, self.labels)
        loss.backward()
        grads = self.grid.grads()
        self.grid.zero_grad()
        return float(loss.data), grads

    def step(self) -> None:
        loss = _eager_loss(self.model, self.grid.all, self.rows, self.labels)
        loss.backward()
        for p in self.grid.all:
            p.data -= LR * p.grad
            p.grad = 0.0


class Micrograd(_EagerEngine):
    """(a) micrograd 0.1.0 as installed, its own MLP and Value."""

    def __init__(self) -> None:
        super().__init__(MgMLP(SIZES[0], list(SIZES[1:])))


class MicrogradGcOff(Micrograd):
    """(b) micrograd with the cyclic garbage collector off during the step, a common speed-up."""

    def step(self) -> None:
        gc.disable()
        try:
            super().step()
        finally:
            gc.enable()


def _ours_model(weights: Weights) -> nn.MLP:
    """Our nn.MLP holding `weights`, with the demo's activations."""
    matrices, biases = [w for w, _ in weights], [b for _, b in weights]
    return nn.MLP.from_weights(matrices, biases, activation="relu", output_activation="linear")


class OursEager(_EagerEngine):
    """(c) our Value and nn.MLP used exactly as micrograd is, with nn.SGD for the update."""

    def __init__(self, weights: Weights) -> None:
        super().__init__(_ours_model(weights))
        self.optimizer = nn.SGD(self.grid.all, lr=LR)

    def step(self) -> None:
        loss = _eager_loss(self.model, self.grid.all, self.rows, self.labels)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad()


class OursTape:
    """(d) ours through a tape, the whole step on vectors as `nn.fit` does it.

    The per-sample loss is traced once; the parameters' numbers live in one vector, which each
    step replays the tape at (`forward(X, theta=...)`), differentiates (`gradient()`, no `.grad`
    touched) and moves with `SGD.update`. The tape covers the data term; the L2 term
    ALPHA·Σp² enters as SGD's weight_decay = 2·ALPHA, PyTorch's form of the same gradient.
    """

    def __init__(self, weights: Weights) -> None:
        model = _ours_model(weights)
        self.grid = _ValueGrid(model)

        def per_sample(x1: Any, x2: Any, y: Any) -> Any:
            return (1 - y * model([x1, x2])).relu()

        self.tape = autodiff.trace(per_sample, 3)
        self.optimizer = nn.SGD(self.tape.parameters, lr=LR, weight_decay=2 * ALPHA)
        position = {p: i for i, p in enumerate(self.tape.parameters)}
        self.grid_order = np.array([position[p] for p in self.grid.all])
        self.theta = np.empty(len(self.tape.parameters))
        self.batch = np.empty((0, 3))

    def load(self, weights: Weights) -> None:
        self.grid.load(weights)
        self.theta = np.array([p.data for p in self.tape.parameters])

    def use_batch(self, points: np.ndarray, labels: np.ndarray) -> None:
        self.batch = np.column_stack([points, labels])

    def loss_and_grads(self) -> tuple[float, Weights]:
        losses = self.tape.forward(self.batch, theta=self.theta)
        grad = self.tape.gradient("mean") + 2 * ALPHA * self.theta
        loss = float(np.mean(losses)) + ALPHA * float(self.theta @ self.theta)
        return loss, self.grid.unflatten(grad[self.grid_order])

    def step(self) -> None:
        self.tape.forward(self.batch, theta=self.theta)
        self.theta = self.optimizer.update(self.theta, self.tape.gradient("mean"))


class NumpyClosedForm:
    """(e) the step by hand in numpy: matrix forward, backprop written out; the practical limit."""

    def __init__(self) -> None:
        self.weights: Weights = []
        self.points = np.empty((0, 2))
        self.labels = np.empty(0)

    def load(self, weights: Weights) -> None:
        self.weights = [(w.copy(), b.copy()) for w, b in weights]

    def use_batch(self, points: np.ndarray, labels: np.ndarray) -> None:
        self.points, self.labels = points, labels

    def loss_and_grads(self) -> tuple[float, Weights]:
        inputs, pre = [self.points], []
        for w, b in self.weights:
            z = inputs[-1] @ w.T + b
            pre.append(z)
            inputs.append(np.maximum(z, 0.0))
        margin = 1.0 - self.labels * pre[-1][:, 0]
        squares = sum(np.sum(w * w) + np.sum(b * b) for w, b in self.weights)
        loss = float(np.mean(np.maximum(margin, 0.0)) + ALPHA * squares)
        # d loss / d score; the output layer is linear, so this is also d loss / d z of that layer.
        dz = (np.where(margin > 0.0, -self.labels, 0.0) / len(margin))[:, None]
        grads: Weights = []
        for layer in reversed(range(len(self.weights))):
            w, b = self.weights[layer]
            grads.append((dz.T @ inputs[layer] + 2 * ALPHA * w, dz.sum(axis=0) + 2 * ALPHA * b))
            if layer:
                dz = (dz @ w) * (pre[layer - 1] > 0.0)
        return loss, grads[::-1]

    def step(self) -> None:
        _, grads = self.loss_and_grads()
        for (w, b), (dw, db) in zip(self.weights, grads, strict=True):
            w -= LR * dw
            b -= LR * db


def build_engines(weights: Weights) -> dict[str, Engine]:
    """Each engine by name, loaded with `weights`."""
    engines: dict[str, Engine] = {
        "micrograd": Micrograd(),
        "micrograd, gc off": MicrogradGcOff(),
        "ours eager": OursEager(weights),
        "ours tape": OursTape(weights),
        "numpy closed form": NumpyClosedForm(),
    }
    for engine in engines.values():
        engine.load(weights)
    return engines


def disagreement(engine: Engine, weights: Weights, points: np.ndarray, labels: np.ndarray) -> float:
    """Largest relative difference of the engine's loss and gradients from the numpy closed form.

    Gradients are compared relative to the largest entry of their matrix, since entries that
    cancel to near zero differ by rounding in the order of summation.
    """
    reference = NumpyClosedForm()
    for each in (engine, reference):
        each.load(weights)
        each.use_batch(points, labels)
    want_loss, want_grads = reference.loss_and_grads()
    loss, grads = engine.loss_and_grads()
    errors = [abs(loss - want_loss) / abs(want_loss)]
    for got, want in zip(grads, want_grads, strict=True):
        for g, w in zip(got, want, strict=True):
            errors.append(float(np.max(np.abs(g - w)) / max(np.max(np.abs(w)), 1e-300)))
    return max(errors)


def micrograd_shaped_model(weights: Weights) -> Callable[[list[Any]], Any]:
    """The demo's MLP as micrograd writes it: each neuron `sum((w * x ...), b)` over our
    Values, binary + and *, no `linear` node (relu hidden layers, linear output)."""
    layers = [
        [
            ([autodiff.Value(x) for x in row], autodiff.Value(bias))
            for row, bias in zip(w.tolist(), b.tolist(), strict=True)
        ]
        for w, b in weights
    ]

    def model(xs: list[Any]) -> Any:
        for depth, layer in enumerate(layers):
            zs = [sum((w * x for w, x in zip(ws, xs, strict=True)), b) for ws, b in layer]
            xs = zs if depth == len(layers) - 1 else [z.relu() for z in zs]
        return xs[0]

    return model


def tape_forward_backward(model: Callable[[list[Any]], Any]) -> Callable[[np.ndarray], Any]:
    """Forward and gradient of the demo's per-sample hinge loss through a tape of `model`."""
    tape = autodiff.trace(lambda x1, x2, y: (1 - y * model([x1, x2])).relu(), 3)

    def run(batch: np.ndarray) -> Any:
        tape.forward(batch)
        return tape.gradient("mean")

    return run
