"""Neural networks on autodiff Values: neurons, layers, MLPs, losses, optimizers, JSON state.

Shaped like micrograd and PyTorch: `MLP(2, [16, 16, 1])`, `model(x)`, `model.parameters()`,
losses as plain functions, `SGD`/`Adam`/`AdamW` with `step()` and `zero_grad()`, `save`/`load` as
JSON, `to_torch`/`from_torch` to carry a network on in PyTorch.
"""

from nn.datasets import make_moons
from nn.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    half_sse,
    hinge_loss,
    max_margin_loss,
    mse,
    softmax,
    softmax_cross_entropy,
)
from nn.module import MLP, Layer, Module, Neuron, init_weights
from nn.optim import SGD, Adam, AdamW, Optimizer
from nn.state import load, save
from nn.torch_bridge import from_torch, to_torch
from nn.train import History, fit, labels_from, predict

__all__ = [
    "MLP",
    "SGD",
    "Adam",
    "AdamW",
    "History",
    "Layer",
    "Module",
    "Neuron",
    "Optimizer",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "fit",
    "from_torch",
    "half_sse",
    "hinge_loss",
    "init_weights",
    "labels_from",
    "load",
    "make_moons",
    "max_margin_loss",
    "mse",
    "predict",
    "save",
    "softmax",
    "softmax_cross_entropy",
    "to_torch",
]
