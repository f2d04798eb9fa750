"""Carry a network on in PyTorch, or bring one back: `to_torch(model)` and `from_torch(module)`.

`to_torch` turns an `MLP` into a `torch.nn.Sequential` of `Linear` layers (float64, the same
numbers) each followed by its activation module (`ReLU`, `Tanh`, `Sigmoid`; none for "linear");
`from_torch` reads such a Sequential back into an `MLP`. Both keep the `z = W x + b` convention,
so a weight matrix is copied as it is, never transposed.

Parameter names map one to one. Layer l of the MLP (counted from 1) is the Sequential's l-th
`Linear`; call its index in the Sequential i (0, 2, 4, ... when every layer but the last has an
activation module, 0, 1, 2, ... when they are all "linear"). Then:

    ours (state_dict)     torch (state_dict)
    W{l}[j,k]             f"{i}.weight"[j, k]      row j = unit, column k = input
    b{l}[j]               f"{i}.bias"[j]

e.g. for `MLP(2, [16, 1])`: `W1[3,0]` is `"0.weight"[3, 0]`, `b2[0]` is `"2.bias"[0]`.

PyTorch is an optional extra (`pip install -e ".[torch]"`): it is imported when these functions
are called, never when `nn` is imported.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nn.module import MLP

TORCH_HINT = 'pip install -e ".[torch]"'
_SUPPORTED = "Linear, ReLU, Tanh, Sigmoid"


def _torch(where: str) -> Any:
    try:
        import torch
    except ImportError:
        raise ImportError(
            f"{where} needs PyTorch, an optional extra: {TORCH_HINT} (or pip install torch)"
        ) from None
    return torch


def _activation_modules(torch: Any) -> dict[str, Any]:
    return {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}


def to_torch(model: MLP) -> Any:
    """`model` as a `torch.nn.Sequential` of `Linear` (float64) and activation modules.

    The torch module holds copies of the numbers: training one leaves the other as it is.
    """
    torch = _torch("to_torch")
    if not isinstance(model, MLP):
        raise TypeError(f"to_torch: model must be an nn.MLP (got {type(model).__name__})")
    activations = _activation_modules(torch)
    modules = []
    for layer in model.layers:
        linear = torch.nn.Linear(layer.nin, layer.nout, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(layer.weights()))
            linear.bias.copy_(torch.from_numpy(layer.biases()))
        modules.append(linear)
        if layer.activation != "linear":
            modules.append(activations[layer.activation]())
    return torch.nn.Sequential(*modules)


def from_torch(module: Any) -> MLP:
    """An `MLP` with the numbers of `module`, a `torch.nn.Sequential` of `Linear` layers, each
    optionally followed by one `ReLU`, `Tanh` or `Sigmoid`.

    An MLP has one activation for its hidden layers and one for its output layer, and its
    layers always have a bias: anything else is refused, naming the module that does not fit.
    A one-layer network gets MLP's default hidden activation, "relu" (it has no hidden layer).
    """
    torch = _torch("from_torch")
    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(
            "from_torch: module must be a torch.nn.Sequential of Linear and activation modules "
            f"(got {type(module).__name__})"
        )
    names = {kind: name for name, kind in _activation_modules(torch).items()}
    weights: list[np.ndarray] = []
    biases: list[np.ndarray] = []
    acts: list[str] = []  # one per Linear: the activation after it
    places: list[str] = []  # where each Linear sits, for messages
    previous = None
    for place, child in module.named_children():
        kind = type(child)
        if isinstance(child, torch.nn.Linear):
            weights.append(_numbers(child.weight, f"{place}.weight"))
            if child.bias is None:
                raise ValueError(
                    f"from_torch: layer {place} is a Linear without bias; MLP layers always "
                    "have one (build it with bias=True)"
                )
            biases.append(_numbers(child.bias, f"{place}.bias"))
            if places and child.in_features != weights[-2].shape[0]:
                raise ValueError(
                    f"from_torch: layer {place} takes {child.in_features} inputs but layer "
                    f"{places[-1]} gives {weights[-2].shape[0]}"
                )
            acts.append("linear")
            places.append(place)
        elif kind in names:
            if not isinstance(previous, torch.nn.Linear):
                after = f"right after {type(previous).__name__}" if previous else "first"
                raise ValueError(
                    f"from_torch: layer {place} is {kind.__name__} {after}; an MLP applies one "
                    "activation after each Linear"
                )
            acts[-1] = names[kind]
        else:
            raise ValueError(
                f"from_torch: layer {place} is {kind.__name__}; only {_SUPPORTED} are supported"
            )
        previous = child
    if not weights:
        raise ValueError("from_torch: module must hold at least one Linear (got none)")
    hidden = sorted(set(acts[:-1]))
    if len(hidden) > 1:
        used = ", ".join(
            f"{act} after layer {p}" for act, p in zip(acts[:-1], places[:-1], strict=True)
        )
        raise ValueError(
            f"from_torch: hidden layers must share one activation, as an MLP has one for its "
            f"hidden layers and one for its output (got {used})"
        )
    return MLP.from_weights(
        weights,
        biases,
        activation=hidden[0] if hidden else "relu",
        output_activation=acts[-1],
    )


def _numbers(tensor: Any, name: str) -> np.ndarray:
    """A parameter tensor's numbers as a float64 numpy array, all finite."""
    numbers = tensor.detach().cpu().double().numpy()
    bad = np.argwhere(~np.isfinite(numbers))
    if bad.size:
        at = tuple(int(i) for i in bad[0])
        raise ValueError(
            f"from_torch: {name} must hold finite numbers (got {numbers[at]} at {list(at)})"
        )
    return numbers
