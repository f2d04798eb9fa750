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
from collections.abc import Callable, Iterator, Mapping, Sequence
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


_NOT_GIVEN: Any = object()


def _not_micrograd_nonlin(activation: Any, nonlin: Any, where: str) -> None:
    """Refuse micrograd's `nonlin=` flag (or a bool given in its place) with what to write here."""
    if nonlin is _NOT_GIVEN and not isinstance(activation, bool):
        return
    came = f"nonlin={nonlin!r}" if nonlin is not _NOT_GIVEN else f"activation={activation!r}"
    raise TypeError(
        f"{where}: the activation must be named, activation='relu' for micrograd's nonlin=True, "
        f"'linear' for nonlin=False, or 'tanh', 'sigmoid' (got {came}); "
        "see 'Coming from micrograd' in the README"
    )


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


Child = tuple[str, "Module | Value"]
"""A part of a module with its name: one of its own parameters, or a module inside it."""


class Module:
    """Base class: a module owns parameters (Values) that training adjusts.

    A subclass says what it is made of in `children()`; `parameters()`, `named_parameters()`,
    `zero_grad()` and the state dict all follow from that. A module written micrograd's way,
    overriding `parameters()` alone, works too (its parameters are then named by position).
    """

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        """The module's output for inputs `x`; each kind of module says how."""
        raise NotImplementedError(f"{type(self).__name__} does not define __call__")

    def children(self) -> list[Child]:
        """What the module is made of, in order and named: its own parameters (Values) and the
        modules inside it (their parameters' names get this name as a prefix when it is not "")."""
        return []

    def parameters(self) -> list[Value]:
        """The trainable Values, in a stable order, each once."""
        return [p for _, p in _walk(self)]

    def named_parameters(self) -> list[tuple[str, Value]]:
        """(name, parameter) pairs in the order of `parameters()`; the names key `state_dict`."""
        named = _walk(self)
        if named:
            return named
        # a module that lists its parameters itself, micrograd's way: positions name them
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
                parts.append("missing " + ", ".join(missing[:5]))
            if unexpected:
                parts.append("unexpected " + ", ".join(checks.shown(k) for k in unexpected[:5]))
            raise ValueError(
                f"load_state_dict: state must have exactly this model's {len(names)} "
                f"parameter names ({'; '.join(parts)})"
            )
        numbers = [checks.number(state[name], f"load_state_dict: {name}") for name in names]
        for (_, p), x in zip(named, numbers, strict=True):
            p.data = x


def _walk(module: Module) -> list[tuple[str, Value]]:
    """The parameters under `module`, depth first in `children()` order, each Value once.

    A loop over a stack of iterators, not recursion; a name given to two different Values is
    refused, since the state dict could not tell them apart.
    """
    found: dict[Value, str] = {}
    owners: dict[str, Value] = {}
    stack: list[tuple[str, Iterator[Child]]] = [("", iter(module.children()))]
    while stack:
        prefix, parts = stack[-1]
        part = next(parts, None)
        if part is None:
            stack.pop()
            continue
        name, child = part
        full = f"{prefix}.{name}" if prefix and name else prefix or name
        if isinstance(child, Module):
            stack.append((full, iter(child.children())))
        elif isinstance(child, Value):
            if child in found:
                continue  # shared between parts: one parameter, trained once
            if owners.setdefault(full, child) is not child:
                raise ValueError(
                    f"{type(module).__name__}.children: names must be unique "
                    f"(got {checks.shown(full)} for two parameters)"
                )
            found[child] = full
        else:
            raise TypeError(
                f"{type(module).__name__}.children: each part must be a Module or a Value "
                f"(got {type(child).__name__} {checks.shown(name)})"
            )
    return [(name, p) for p, name in found.items()]


def _where(layer: int | None, row: int | None) -> tuple[str, str]:
    """A neuron's label parts: the layer number ("" alone) and "[row," for its weights."""
    return ("" if layer is None else str(layer)), ("" if row is None else f"{row},")


class Neuron(Module):
    """One unit: activation(b + Σ w_i x_i), the weighted sum a single `linear` node.

    Its weights are drawn from `seed` (see `init_weights`) unless given as `weights`. `layer`
    and `row` say where it sits in a layer, for its labels: `W1[2,0]`, `b1[2]`, `z1[2]`; a
    neuron on its own has `w[0]`, `b`, `z`, `a`.
    """

    def __init__(
        self,
        nin: int,
        activation: str = "relu",
        *,
        seed: SeedLike = None,
        weights: Row | None = None,
        bias: float = 0.0,
        layer: int | None = None,
        row: int | None = None,
        nonlin: Any = _NOT_GIVEN,
    ) -> None:
        _not_micrograd_nonlin(activation, nonlin, "Neuron")
        self.activation = activation_name(activation, "Neuron: activation")
        nin = checks.size(nin, "Neuron: nin")
        if weights is None:
            numbers = init_weights(nin, 1, self.activation, checks.seed(seed, "Neuron: seed"))[0]
            weights = numbers.tolist()
        numbers = checks.vector(weights, nin, "Neuron: weights")
        number, index = _where(layer, row)
        if row is None:
            wnames = [f"w[{k}]" for k in range(nin)]
            bname, self._zlabel, self._alabel = "b", "z", "a"
        else:
            wnames = [f"W{number}[{index}{k}]" for k in range(nin)]
            bname = f"b{number}[{row}]"
            self._zlabel, self._alabel = f"z{number}[{row}]", f"a{number}[{row}]"
        self.w: tuple[Value, ...] = tuple(Value(x, n) for x, n in zip(numbers, wnames, strict=True))
        self.b = Value(checks.number(bias, "Neuron: bias"), bname)
        self._names = (*wnames, bname)

    @classmethod
    def from_weights(cls, weights: Row, bias: float = 0.0, activation: str = "sigmoid") -> Neuron:
        """A neuron with the given weights (a vector of nin numbers) and bias."""
        numbers = checks.vector(weights, None, "Neuron.from_weights: weights")
        if not numbers:
            raise ValueError("Neuron.from_weights: weights must have at least one entry (got none)")
        return cls(len(numbers), activation, weights=numbers, bias=bias)

    @property
    def nin(self) -> int:
        return len(self.w)

    def children(self) -> list[Child]:
        """The weights, then the bias."""
        return list(zip(self._names, (*self.w, self.b), strict=True))

    def __call__(self, x: Sequence[Value | float]) -> Value:
        """activation(b + w·x) for nin inputs, numbers or Values."""
        return self._forward(_as_values(x, _input_labels(self.nin), "Neuron"))

    def _forward(self, xs: list[Value]) -> Value:
        z = linear(self.w, xs, self.b)
        z.label = self._zlabel
        act = _APPLY[self.activation]
        if act is None:
            return z
        a = act(z)
        a.label = self._alabel
        return a

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r})"


class Layer(Module):
    """nout neurons reading the same inputs: z = W x + b, a = activation(z), W nout x nin.

    W is drawn from `seed` unless given as `weights` (nout x nin), b is 0 unless given as
    `biases`; `layer` is its number in an MLP, for the labels (W1, b1, ...).
    """

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str = "relu",
        *,
        seed: SeedLike = None,
        weights: Matrix | None = None,
        biases: Row | None = None,
        layer: int | None = None,
        nonlin: Any = _NOT_GIVEN,
    ) -> None:
        _not_micrograd_nonlin(activation, nonlin, "Layer")
        self.activation = activation_name(activation, "Layer: activation")
        nin = checks.size(nin, "Layer: nin")
        nout = checks.size(nout, "Layer: nout")
        if weights is None:
            weights = init_weights(nin, nout, self.activation, checks.seed(seed, "Layer: seed"))
        rows = checks.matrix(weights, (nout, nin), "Layer: weights")
        bias = [0.0] * nout if biases is None else checks.vector(biases, nout, "Layer: biases")
        self.neurons: tuple[Neuron, ...] = tuple(
            Neuron(nin, self.activation, weights=w, bias=b, layer=layer, row=j)
            for j, (w, b) in enumerate(zip(rows, bias, strict=True))
        )

    @classmethod
    def from_weights(
        cls, weights: Matrix, biases: Row | None = None, activation: str = "sigmoid"
    ) -> Layer:
        """A layer with the given nout x nin weights and nout biases (zeros when None)."""
        rows = checks.matrix(weights, (None, None), "Layer.from_weights: weights")
        return cls(len(rows[0]), len(rows), activation, weights=rows, biases=biases)

    @property
    def nin(self) -> int:
        return self.neurons[0].nin

    @property
    def nout(self) -> int:
        return len(self.neurons)

    def children(self) -> list[Child]:
        """W row by row, then b: the order of the matrix formulas and of PyTorch's state dicts."""
        parts = [neuron.children() for neuron in self.neurons]
        return [w for part in parts for w in part[:-1]] + [part[-1] for part in parts]

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        """The layer's outputs: a list, or one Value when nout is 1 (as in micrograd)."""
        out = self._forward(_as_values(x, _input_labels(self.nin), "Layer"))
        return out[0] if len(out) == 1 else out

    def _forward(self, xs: list[Value]) -> list[Value]:
        return [n._forward(xs) for n in self.neurons]

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
    fresh ones each time, as micrograd and PyTorch do), biases at 0; or as given in `weights`
    (weights[l] nout x nin) and `biases` (biases[l] nout numbers), as `from_weights` passes them.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "relu",
        output_activation: str = "linear",
        *,
        seed: SeedLike = None,
        weights: Sequence[Matrix] | None = None,
        biases: Sequence[Row] | None = None,
    ) -> None:
        nin = checks.size(nin, "MLP: nin")
        sizes = _layer_sizes(nouts, "MLP")
        self.activation = activation_name(activation, "MLP: activation")
        self.output_activation = activation_name(output_activation, "MLP: output_activation")
        rng = np.random.default_rng(checks.seed(seed, "MLP: seed"))
        given_w = [None] * len(sizes) if weights is None else _per_layer(weights, sizes, "weights")
        given_b = [None] * len(sizes) if biases is None else _per_layer(biases, sizes, "biases")
        layers = []
        for index, (fan_in, fan_out) in enumerate(zip([nin, *sizes], sizes, strict=False)):
            last = index == len(sizes) - 1
            layers.append(
                Layer(
                    fan_in,
                    fan_out,
                    self.output_activation if last else self.activation,
                    seed=rng,
                    weights=given_w[index],
                    biases=given_b[index],
                    layer=index + 1,
                )
            )
        self.layers: tuple[Layer, ...] = tuple(layers)

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
        if not all(isinstance(x, list | tuple | np.ndarray) for x in (weights, biases)):
            raise ValueError(
                f"{where}: weights and biases must be lists (or arrays) with one entry per layer "
                f"(got {type(weights).__name__} and {type(biases).__name__})"
            )
        weights = _layers_of(weights, 3, "weights", "layers x nout x nin", where)
        biases = _layers_of(biases, 2, "biases", "layers x nout", where)
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
        return cls(
            len(rows[0][0]),
            [len(r) for r in rows],
            activation,
            output_activation,
            weights=rows,
            biases=vectors,
        )

    @property
    def nin(self) -> int:
        return self.layers[0].nin

    @property
    def nouts(self) -> tuple[int, ...]:
        return tuple(layer.nout for layer in self.layers)

    def children(self) -> list[Child]:
        """The layers, whose parameters keep their names (W1[0,0], b1[0], W2[0,0], ...)."""
        return [("", layer) for layer in self.layers]

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        """The network's output: one Value when the last layer has one unit, else a list."""
        xs = _as_values(x, _input_labels(self.nin), "MLP")
        for layer in self.layers:
            xs = layer._forward(xs)
        return xs[0] if len(xs) == 1 else xs

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


def _per_layer(given: Any, sizes: list[int], name: str) -> list[Any]:
    """`weights` or `biases` given to MLP: one entry per layer."""
    if not isinstance(given, Sequence | np.ndarray) or len(given) != len(sizes):
        found = len(given) if isinstance(given, Sequence | np.ndarray) else type(given).__name__
        raise ValueError(f"MLP: {name} must have one entry per layer, {len(sizes)} (got {found})")
    return list(given)


def _layers_of(obj: Any, ndim: int, name: str, axes: str, where: str) -> list[Any]:
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
