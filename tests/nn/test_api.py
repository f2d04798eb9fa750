"""nn's public names and the signatures CONTRACT.md fixes, pinned; gradients against finite
differences for every activation."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import nn

CONTRACT = {
    "Neuron": ["nin", "activation"],
    "Layer": ["nin", "nout", "activation"],
    "MLP": ["nin", "nouts", "activation", "output_activation"],
    "SGD": ["params", "lr", "momentum", "weight_decay"],
    "Adam": ["params", "lr"],
    "AdamW": ["params", "lr"],
    "to_torch": ["model"],
    "from_torch": ["module"],
}
DEFAULTS = {
    ("Neuron", "activation"): "relu",
    ("Layer", "activation"): "relu",
    ("MLP", "activation"): "relu",
    ("MLP", "output_activation"): "linear",
    ("SGD", "momentum"): 0.0,
    ("SGD", "weight_decay"): 0.0,
    ("Adam", "lr"): 1e-3,
    ("AdamW", "lr"): 1e-3,
}
KEYWORD_DEFAULTS = {("Adam", "weight_decay"): 0.0, ("AdamW", "weight_decay"): 0.01}


def test_all_is_pinned():
    assert sorted(nn.__all__) == sorted(
        [
            "Adam",
            "AdamW",
            "History",
            "Layer",
            "MLP",
            "Module",
            "Neuron",
            "Optimizer",
            "SGD",
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
    )
    assert all(hasattr(nn, name) for name in nn.__all__)


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_contract_signatures_lead_with_the_written_parameters(name):
    params = list(inspect.signature(getattr(nn, name)).parameters.values())
    written = CONTRACT[name]
    assert [p.name for p in params[: len(written)]] == written
    for p in params[: len(written)]:
        if (name, p.name) in DEFAULTS:
            assert p.default == DEFAULTS[name, p.name]
    # anything beyond the contract is keyword-only or has a default, so contract calls still work
    for p in params[len(written) :]:
        assert p.default is not inspect.Parameter.empty


@pytest.mark.parametrize(("name", "option"), sorted(KEYWORD_DEFAULTS))
def test_contract_options_have_the_written_defaults(name, option):
    params = inspect.signature(getattr(nn, name)).parameters
    assert params[option].default == KEYWORD_DEFAULTS[name, option]


def test_from_weights_signature_is_the_contracts():
    params = inspect.signature(nn.MLP.from_weights).parameters
    assert list(params) == ["weights", "biases", "activation", "output_activation"]
    assert params["activation"].default == "sigmoid"
    assert params["output_activation"].default is None


def test_module_methods_and_save_load_exist_as_written():
    model = nn.MLP(2, [3, 1], seed=0)
    for method in ("parameters", "zero_grad", "state_dict", "load_state_dict"):
        assert callable(getattr(model, method))
    assert list(inspect.signature(nn.save).parameters) == ["model", "path"]
    assert list(inspect.signature(nn.load).parameters) == ["path"]


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "linear"])
def test_gradients_match_central_differences_for_every_activation(activation):
    model = nn.MLP(3, [4, 3, 2], activation=activation, output_activation="tanh", seed=1)
    x, t = [0.7, -0.4, 1.3], [0.2, -0.5]

    def loss():
        return nn.mse(model(x), t)

    loss().backward()
    h = 1e-6
    for p in model.parameters():
        start = p.data
        p.data = start + h
        up = loss().data
        p.data = start - h
        down = loss().data
        p.data = start
        assert p.grad == pytest.approx((up - down) / (2 * h), abs=1e-8)


def test_numpy_views_are_copies_not_handles():
    model = nn.MLP(2, [2, 1], seed=0)
    w = model.weights()[0]
    w[:] = 99.0
    assert not np.any(model.weights()[0] == 99.0)
