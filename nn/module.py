"""Neurons, layers and multilayer perceptrons built from autodiff Values.

A neuron's weighted sum b + Σ w_i x_i is one `linear` node, so a forward pass makes few nodes and
a shallow graph. Parameters are labelled where they sit, in the seeds' notation with layers
counted from 1 and rows and columns from 0: `W1[1,0]` is layer 1's weight from input 0 to unit 1
(the `z = W x + b` convention, W is nout x nin), `b2[0]` a bias; intermediate results are
labelled `z1[0]`, `a1[0]`. The labels are made once, when a module is built.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from autodiff import Value, checks, linear

SeedLike = int | np.random.Generator | None
Row = Sequence[float] | np.ndarray
"""A vector of numbers: a list, tuple or 1-D numpy array."""
Matrix = Sequence[Row] | np.ndarray
"""nout x nin numbers: rows (lists, tuples or 1-D arrays) or one 2-D numpy array."""

_APPLY: dict[str, Callable[[Value], Value] | None] = {
    "relu": Value.relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "linear": None,
}
ACTIVATIONS: tuple[str, ...] = tuple(_APPLY)


def activation_name(name: Any, where: str) -> str:
    """`name` if it is one of ACTIVATIONS; the error lists the valid ones."""
    return checks.one_of(name, ACTIVATIONS, where)


def init_weights(
    nin: int, nout: int, activation: str = "relu", seed: SeedLike = None
) -> np.ndarray:
    """A nout x nin weight matrix drawn for `activation`, reproducible from `seed`.

    He uniform, U(±sqrt(6/nin)), for relu: it keeps the variance of z across relu layers.
    Glorot uniform, U(±sqrt(6/(nin + nout))), for tanh, sigmoid and linear: it keeps the
    variance of both the forward signal and the backward gradient near 1 where these are close
    to linear. `seed` is an int or a numpy Generator (drawn from, so a model's layers differ).
    """
    nin = checks.size(nin, "init_weights: nin")
    nout = checks.size(nout, "init_weights: nout")
    activation = activation_name(activation, "init_weights: activation")
    limit = math.sqrt(6.0 / nin) if activation == "relu" else math.sqrt(6.0 / (nin + nout))
    return np.random.default_rng(seed).uniform(-limit, limit, size=(nout, nin))


@functools.cache  # one tuple per width, shared by every neuron and layer of that width
def _input_labels(nin: int) -> tuple[str, ...]:
    return tuple(f"x[{k}]" for k in range(nin))


def _as_values(x: Any, labels: tuple[str, ...], where: str) -> list[Value]:
    """The inputs as Values, each number wrapped once (not once per neuron that reads it)."""
    nin = len(labels)
    try:
        n = len(x)
    except TypeError:
        raise TypeError(
            f"{where}: x must be a sequence of {nin} numbers or Values (got {type(x).__name__})"
        ) from None
    if n != nin:
        raise ValueError(f"{where}: expected {nin} inputs (got {n})")
    pairs = zip(x, labels, strict=True)
    return [v if isinstance(v, Value) else Value(v, label) for v, label in pairs]


class Module:
    """Base class: a module owns parameters (Values) that training adjusts."""

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        """The module's output for inputs `x`; each kind of module says how."""
        raise NotImplementedError(f"{type(self).__name__} does not define __call__")

    def parameters(self) -> list[Value]:
        """The trainable Values, in a stable order."""
        return []

    def named_parameters(self) -> list[tuple[str, Value]]:
        """(name, parameter) pairs; the names key `state_dict`. Positions unless overridden."""
        return [(str(i), p) for i, p in enumerate(self.parameters())]

    def zero_grad(self) -> None:
        """Reset every parameter's grad to 0 (backward accumulates, as in PyTorch)."""
        for p in self.parameters():
            p.grad = 0.0

    def state_dict(self) -> dict[str, float]:
        """Every parameter's number by name, a plain dict of floats (JSON-ready)."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, float]) -> None:
        """Set the parameters from `state`; on any error nothing is changed.

        `state` must have exactly this module's names, each with a finite number.
        """
        named = self.named_parameters()
        if not isinstance(state, Mapping):
            raise ValueError(
                "load_state_dict: state must be a mapping of names to numbers "
                f"(got {type(state).__name__})"
            )
        names = [name for name, _ in named]
        known = set(names)
        missing = [name for name in names if name not in state]
        unexpected = [key for key in state if key not in known]
        if missing or unexpected:
            parts = []
            if missing:
                parts.append("missing " + ", ".join(map(str, missing[:5])))
            if unexpected:
                parts.append("unexpected " + ", ".join(map(str, unexpected[:5])))
            raise ValueError(
                f"load_state_dict: state must have exactly this model's {len(names)} "
                f"parameter names ({'; '.join(parts)})"
            )
        numbers = [checks.number(state[name], f"load_state_dict: {name}") for name in names]
        for (_, p), x in zip(named, numbers, strict=True):
            p.data = x


class Neuron(Module):
    """One unit: activation(b + Σ w_i x_i), the weighted sum a single `linear` node."""

    def __init__(self, nin: int, activation: str = "relu", *, seed: SeedLike = None) -> None:
        activation = activation_name(activation, "Neuron: activation")
        weights = init_weights(checks.size(nin, "Neuron: nin"), 1, activation, seed)[0]
        self._build(weights.tolist(), 0.0, activation, row=None, layer="")

    @classmethod
    def from_weights(cls, weights: Row, bias: float = 0.0, activation: str = "sigmoid") -> Neuron:
        """A neuron with the given weights (a vector of nin numbers) and bias."""
        activation = activation_name(activation, "Neuron.from_weights: activation")
        neuron = cls.__new__(cls)
        neuron._build(
            checks.vector(weights, None, "Neuron.from_weights: weights"),
            checks.number(bias, "Neuron.from_weights: bias"),
            activation,
            row=None,
            layer="",
        )
        return neuron

    def _build(
        self, weights: list[float], bias: float, activation: str, row: int | None, layer: str
    ) -> None:
        """Make the parameter Values and every label, once. `layer` is "" or the layer's number."""
        if not weights:
            raise ValueError("Neuron: weights must have at least one entry (got none)")
        if row is None:
            wnames = [f"w[{k}]" for k in range(len(weights))]
            bname, self._zlabel, self._alabel = "b", "z", "a"
        else:
            wnames = [f"W{layer}[{row},{k}]" for k in range(len(weights))]
            bname = f"b{layer}[{row}]"
            self._zlabel, self._alabel = f"z{layer}[{row}]", f"a{layer}[{row}]"
        self.w: tuple[Value, ...] = tuple(Value(x, n) for x, n in zip(weights, wnames, strict=True))
        self.b = Value(bias, bname)
        self.nin = len(self.w)
        self._xlabels = _input_labels(self.nin)
        self.activation = activation
        self._act = _APPLY[activation]
        self._params = (*self.w, self.b)
        self._names = (*wnames, bname)

    def __call__(self, x: Sequence[Value | float]) -> Value:
        """activation(b + w·x) for nin inputs, numbers or Values."""
        return self._forward(_as_values(x, self._xlabels, "Neuron"))

    def _forward(self, xs: list[Value]) -> Value:
        z = linear(self.w, xs, self.b)
        z.label = self._zlabel
        if self._act is None:
            return z
        a = self._act(z)
        a.label = self._alabel
        return a

    def parameters(self) -> list[Value]:
        return list(self._params)

    def named_parameters(self) -> list[tuple[str, Value]]:
        return list(zip(self._names, self._params, strict=True))

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r})"


class Layer(Module):
    """nout neurons reading the same inputs: z = W x + b, a = activation(z), W nout x nin."""

    def __init__(
        self, nin: int, nout: int, activation: str = "relu", *, seed: SeedLike = None
    ) -> None:
        activation = activation_name(activation, "Layer: activation")
        nin = checks.size(nin, "Layer: nin")
        nout = checks.size(nout, "Layer: nout")
        weights = init_weights(nin, nout, activation, seed).tolist()
        self._build(weights, [0.0] * nout, activation, layer="")

    @classmethod
    def from_weights(
        cls, weights: Matrix, biases: Row | None = None, activation: str = "sigmoid"
    ) -> Layer:
        """A layer with the given nout x nin weights and nout biases (zeros when None)."""
        activation = activation_name(activation, "Layer.from_weights: activation")
        rows = checks.matrix(weights, (None, None), "Layer.from_weights: weights")
        if biases is None:
            biases = [0.0] * len(rows)
        bias = checks.vector(biases, len(rows), "Layer.from_weights: biases")
        layer = cls.__new__(cls)
        layer._build(rows, bias, activation, layer="")
        return layer

    def _build(
        self, weights: list[list[float]], biases: list[float], activation: str, layer: str
    ) -> None:
        neurons = []
        for j, (row, bias) in enumerate(zip(weights, biases, strict=True)):
            neuron = Neuron.__new__(Neuron)
            neuron._build(row, bias, activation, row=j, layer=layer)
            neurons.append(neuron)
        self.neurons: tuple[Neuron, ...] = tuple(neurons)
        self.nin = len(weights[0])
        self.nout = len(neurons)
        self._xlabels = _input_labels(self.nin)
        self.activation = activation
        # W row by row, then b: the order of the matrix formulas (and of PyTorch's state dicts)
        self._params = (*(w for n in neurons for w in n.w), *(n.b for n in neurons))
        self._names = (
            *(name for n in neurons for name in n._names[:-1]),
            *(n._names[-1] for n in neurons),
        )

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        """The layer's outputs: a list, or one Value when nout is 1 (as in micrograd)."""
        out = self._forward(_as_values(x, self._xlabels, "Layer"))
        return out[0] if len(out) == 1 else out

    def _forward(self, xs: list[Value]) -> list[Value]:
        return [n._forward(xs) for n in self.neurons]

    def parameters(self) -> list[Value]:
        return list(self._params)

    def named_parameters(self) -> list[tuple[str, Value]]:
        return list(zip(self._names, self._params, strict=True))

    def weights(self) -> np.ndarray:
        """W as a nout x nin array of floats, so matrix formulas compare directly."""
        return np.array([[w.data for w in n.w] for n in self.neurons])

    def biases(self) -> np.ndarray:
        """b as a vector of nout floats."""
        return np.array([n.b.data for n in self.neurons])

    def weight_grads(self) -> np.ndarray:
        """dL/dW as a nout x nin array, read from the weights' `.grad`."""
        return np.array([[_grad(w) for w in n.w] for n in self.neurons])

    def bias_grads(self) -> np.ndarray:
        """dL/db as a vector of nout floats."""
        return np.array([_grad(n.b) for n in self.neurons])

    def __repr__(self) -> str:
        return f"Layer({self.nin}, {self.nout}, activation={self.activation!r})"


def _grad(p: Value) -> float:
    """A grad as a Python float, also when backward(create_graph=True) made it a Value.

    float() keeps a numpy-scalar grad from turning an optimizer's `.data` into one.
    """
    return p.grad.data if isinstance(p.grad, Value) else float(p.grad)


class MLP(Module):
    """A multilayer perceptron: `MLP(2, [16, 16, 1])` maps 2 inputs through 16, 16 to 1 output.

    Hidden layers use `activation`, the last layer `output_activation`. Layers are numbered from
    1 in labels and state-dict names (W1, b1, W2, ...), like the seeds' W^[1], W^[2]. Weights
    start as `init_weights` draws them from `seed` (an int or a numpy Generator; None draws
    fresh ones each time, as micrograd and PyTorch do), biases at 0.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "relu",
        output_activation: str = "linear",
        *,
        seed: SeedLike = None,
    ) -> None:
        nin = checks.size(nin, "MLP: nin")
        sizes = _layer_sizes(nouts, "MLP")
        activation = activation_name(activation, "MLP: activation")
        output_activation = activation_name(output_activation, "MLP: output_activation")
        rng = np.random.default_rng(seed)
        weights = []
        for index, (fan_in, fan_out) in enumerate(zip([nin, *sizes], sizes, strict=False)):
            act = output_activation if index == len(sizes) - 1 else activation
            weights.append(init_weights(fan_in, fan_out, act, rng).tolist())
        self._build(weights, [[0.0] * n for n in sizes], activation, output_activation)

    @classmethod
    def from_weights(
        cls,
        weights: Sequence[Matrix] | np.ndarray,
        biases: Sequence[Row] | np.ndarray,
        activation: str = "sigmoid",
        output_activation: str | None = None,
    ) -> MLP:
        """An MLP with given parameters: weights[l] is nout x nin (z = W x + b), biases[l] nout.

        Nested lists or numpy arrays. `output_activation=None` means the same as `activation`.
        """
        where = "MLP.from_weights"
        activation = activation_name(activation, where + ": activation")
        if output_activation is None:
            output_activation = activation
        output_activation = activation_name(output_activation, where + ": output_activation")
        if not all(isinstance(x, list | tuple | np.ndarray) for x in (weights, biases)):
            raise ValueError(
                f"{where}: weights and biases must be lists (or arrays) with one entry per layer "
                f"(got {type(weights).__name__} and {type(biases).__name__})"
            )
        weights = _per_layer(weights, 3, "weights", "layers x nout x nin", where)
        biases = _per_layer(biases, 2, "biases", "layers x nout", where)
        if not weights or len(weights) != len(biases):
            raise ValueError(
                f"{where}: weights and biases must have one entry per layer, at least one "
                f"(got {len(weights)} weight matrices and {len(biases)} bias vectors)"
            )
        rows, vectors = [], []
        nin: int | None = None
        for index, (w, b) in enumerate(zip(weights, biases, strict=True)):
            rows.append(checks.matrix(w, (None, nin), f"{where}: weights[{index}]"))
            nin = len(rows[-1])
            vectors.append(checks.vector(b, nin, f"{where}: biases[{index}]"))
        model = cls.__new__(cls)
        model._build(rows, vectors, activation, output_activation)
        return model

    def _build(
        self,
        weights: list[list[list[float]]],
        biases: list[list[float]],
        activation: str,
        output_activation: str,
    ) -> None:
        layers = []
        for index, (w, b) in enumerate(zip(weights, biases, strict=True)):
            act = output_activation if index == len(weights) - 1 else activation
            layer = Layer.__new__(Layer)
            layer._build(w, b, act, layer=str(index + 1))
            layers.append(layer)
        self.layers: tuple[Layer, ...] = tuple(layers)
        self.nin = layers[0].nin
        self._xlabels = layers[0]._xlabels
        self.nouts: tuple[int, ...] = tuple(layer.nout for layer in layers)
        self.activation = activation
        self.output_activation = output_activation
        self._params = tuple(p for layer in layers for p in layer._params)
        self._names = tuple(name for layer in layers for name in layer._names)

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        """The network's output: one Value when the last layer has one unit, else a list."""
        xs = _as_values(x, self._xlabels, "MLP")
        for layer in self.layers:
            xs = layer._forward(xs)
        return xs[0] if len(xs) == 1 else xs

    def parameters(self) -> list[Value]:
        return list(self._params)

    def named_parameters(self) -> list[tuple[str, Value]]:
        return list(zip(self._names, self._params, strict=True))

    def weights(self) -> list[np.ndarray]:
        """Each layer's W as a nout x nin array."""
        return [layer.weights() for layer in self.layers]

    def biases(self) -> list[np.ndarray]:
        """Each layer's b as a vector."""
        return [layer.biases() for layer in self.layers]

    def weight_grads(self) -> list[np.ndarray]:
        """Each layer's dL/dW as a nout x nin array."""
        return [layer.weight_grads() for layer in self.layers]

    def bias_grads(self) -> list[np.ndarray]:
        """Each layer's dL/db as a vector."""
        return [layer.bias_grads() for layer in self.layers]

    def __repr__(self) -> str:
        return (
            f"MLP({self.nin}, {list(self.nouts)}, activation={self.activation!r}, "
            f"output_activation={self.output_activation!r})"
        )


def _per_layer(obj: Any, ndim: int, name: str, axes: str, where: str) -> list[Any]:
    """One entry per layer: a list or tuple as it is, one numpy array split along its first axis."""
    if isinstance(obj, np.ndarray) and obj.ndim != ndim:
        raise ValueError(
            f"{where}: {name} as one array must be {ndim}-D, {axes}, all layers the same size "
            f"(got shape {obj.shape}); for layers of different sizes pass a list"
        )
    return list(obj)


def _layer_sizes(nouts: Any, where: str) -> list[int]:
    if isinstance(nouts, str) or not isinstance(nouts, Sequence) or not nouts:
        raise ValueError(
            f"{where}: nouts must be a non-empty list of layer sizes (got {nouts!r:.40})"
        )
    return [checks.size(n, f"{where}: nouts[{i}]") for i, n in enumerate(nouts)]
