"""nn.to_torch and nn.from_torch: the same numbers, outputs and gradients on both sides, the
state_dict names mapped as documented, and clear refusals of what an MLP cannot hold."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nn
from autodiff import Value

try:
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(
    torch is None, reason='needs PyTorch, the optional extra: pip install -e ".[torch]"'
)
ROOT = Path(__file__).resolve().parents[2]

SHAPES = [
    (1, [1], "relu", "linear"),
    (2, [3, 1], "tanh", "sigmoid"),
    (3, [4, 5, 2], "relu", "linear"),
    (4, [3, 3, 3], "sigmoid", "tanh"),
    (2, [5, 4, 3], "linear", "relu"),
    (5, [2], "tanh", "tanh"),
]
SHAPE_IDS = ["1-1", "2-3-1", "3-4-5-2", "4-3-3-3", "linear-hidden", "one-layer"]
TORCH_ACTIVATION = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}


def model_for(nin, nouts, activation, output_activation, seed=0):
    model = nn.MLP(nin, nouts, activation, output_activation, seed=seed)
    rng = np.random.default_rng(seed + 1)
    for p in model.parameters():  # nonzero biases, so a bias mix-up shows
        p.data = float(rng.normal())
    return model


def rows(nin, n=6, seed=2):
    return np.random.default_rng(seed).normal(size=(n, nin))


def linear_indices(model):
    """Where each layer's Linear sits in the Sequential: an activation module follows each layer
    whose activation is not 'linear' (the mapping the module docstring describes)."""
    indices, i = [], 0
    for layer in model.layers:
        indices.append(i)
        i += 1 if layer.activation == "linear" else 2
    return indices


@needs_torch
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_to_torch_is_linear_and_activation_modules_with_the_same_numbers(shape):
    model = model_for(*shape)
    net = nn.to_torch(model)
    expected = []
    for layer in model.layers:
        expected.append("Linear")
        if layer.activation != "linear":
            expected.append(TORCH_ACTIVATION[layer.activation])
    assert [type(m).__name__ for m in net] == expected
    assert isinstance(net, torch.nn.Sequential)
    state = net.state_dict()
    assert all(t.dtype == torch.float64 for t in state.values())
    indices = linear_indices(model)
    # the documented one-to-one map: W{l}[j,k] is "{i}.weight"[j, k], b{l}[j] is "{i}.bias"[j]
    assert len(model.state_dict()) == sum(t.numel() for t in state.values())
    for name, number in model.state_dict().items():
        kind, rest = name[0], name[1:]
        layer, index = rest.split("[")
        at = tuple(int(s) for s in index.rstrip("]").split(","))
        key = f"{indices[int(layer) - 1]}.{'weight' if kind == 'W' else 'bias'}"
        assert state[key][at].item() == number


@needs_torch
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_outputs_and_gradients_agree_between_ours_and_torch_autograd(shape):
    model = model_for(*shape)
    net = nn.to_torch(model)
    X = rows(model.nin)
    targets = np.random.default_rng(3).normal(size=(len(X), model.nouts[-1]))

    ours = []
    for x in X:
        out = model(x.tolist())
        out = [out] if isinstance(out, Value) else out
        ours.append(out)
    loss = nn.mse([y for out in ours for y in out], targets.ravel().tolist())
    loss.backward()

    theirs = net(torch.from_numpy(X))
    torch_loss = ((theirs - torch.from_numpy(targets)) ** 2).mean()
    torch_loss.backward()

    np.testing.assert_allclose(
        [[y.data for y in out] for out in ours], theirs.detach().numpy(), rtol=1e-12, atol=1e-15
    )
    assert loss.data == pytest.approx(torch_loss.item(), rel=1e-12)
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    for layer, linear in zip(model.layers, linears, strict=True):
        np.testing.assert_allclose(
            layer.weight_grads(), linear.weight.grad.numpy(), rtol=1e-10, atol=1e-14
        )
        np.testing.assert_allclose(
            layer.bias_grads(), linear.bias.grad.numpy(), rtol=1e-10, atol=1e-14
        )


@needs_torch
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_from_torch_of_to_torch_gives_back_the_model(shape):
    model = model_for(*shape)
    back = nn.from_torch(nn.to_torch(model))
    assert back.state_dict() == model.state_dict()
    assert back.nouts == model.nouts
    assert back.output_activation == model.output_activation
    if len(model.layers) > 1:
        assert back.activation == model.activation
    x = rows(model.nin, n=1)[0].tolist()
    out, expected = back(x), model(x)
    pairs = zip(out, expected, strict=True) if isinstance(out, list) else [(out, expected)]
    assert all(a.data == b.data for a, b in pairs)


def torch_net(*modules, dtype="float64"):
    return torch.nn.Sequential(*modules).to(getattr(torch, dtype))


@needs_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_to_torch_of_from_torch_is_the_identity_on_a_torch_network(dtype):
    torch.manual_seed(0)
    L, A = torch.nn.Linear, torch.nn
    networks = [
        torch_net(L(3, 4), A.Tanh(), L(4, 2), dtype=dtype),
        torch_net(L(2, 5), A.ReLU(), L(5, 5), A.ReLU(), L(5, 1), A.Sigmoid(), dtype=dtype),
        torch_net(L(4, 3), L(3, 3), L(3, 2), dtype=dtype),
        torch_net(L(2, 1), dtype=dtype),
    ]
    for net in networks:
        again = nn.to_torch(nn.from_torch(net))
        assert [type(m) for m in again] == [type(m) for m in net]
        before, after = net.state_dict(), again.state_dict()
        assert list(after) == list(before)
        for key in before:  # float32 numbers widen to float64 exactly
            assert torch.equal(after[key], before[key].double())
        X = torch.from_numpy(rows(net[0].in_features))
        np.testing.assert_array_equal(again(X).detach().numpy(), net.double()(X).detach().numpy())


@needs_torch
def test_a_network_carried_on_in_torch_keeps_its_numbers_when_brought_back():
    model = model_for(2, [4, 1], "tanh", "linear")
    net = nn.to_torch(model)
    with torch.no_grad():
        net[0].weight[1, 0] += 0.5
    assert model.layers[0].weights()[1, 0] != net[0].weight[1, 0].item()  # copies, not views
    back = nn.from_torch(net)
    assert back.state_dict()["W1[1,0]"] == net[0].weight[1, 0].item()


@needs_torch
@pytest.mark.parametrize(
    ("modules", "message"),
    [
        (
            lambda L, A: [L(2, 3), A.ReLU(), torch.nn.Conv2d(1, 1, 1)],
            "from_torch: layer 2 is Conv2d; only Linear, ReLU, Tanh, Sigmoid are supported",
        ),
        (
            lambda L, A: [L(2, 3), A.ReLU(), L(3, 3), A.Tanh(), L(3, 1)],
            "hidden layers must share one activation, as an MLP has one for its hidden layers "
            "and one for its output (got relu after layer 0, tanh after layer 2)",
        ),
        (
            lambda L, A: [L(2, 3), L(3, 3), A.Tanh(), L(3, 1)],
            "(got linear after layer 0, tanh after layer 1)",
        ),
        (
            lambda L, A: [A.ReLU(), L(2, 3)],
            "from_torch: layer 0 is ReLU first; an MLP applies one activation after each Linear",
        ),
        (
            lambda L, A: [L(2, 3), A.ReLU(), A.Tanh()],
            "from_torch: layer 2 is Tanh right after ReLU",
        ),
        (lambda L, A: [L(2, 3), A.ReLU(), L(4, 1)], "layer 2 takes 4 inputs but layer 0 gives 3"),
        (
            lambda L, A: [L(2, 3, bias=False)],
            "from_torch: layer 0 is a Linear without bias; MLP layers always have one",
        ),
        (lambda L, A: [A.GELU(), L(2, 3)], "from_torch: layer 0 is GELU; only Linear, ReLU"),
        (lambda L, A: [], "from_torch: module must hold at least one Linear (got none)"),
    ],
    ids=[
        "conv",
        "mixed-hidden",
        "linear-then-tanh",
        "activation-first",
        "two-activations",
        "widths",
        "no-bias",
        "gelu",
        "empty",
    ],
)
def test_from_torch_names_what_it_cannot_convert(modules, message):
    net = torch.nn.Sequential(*modules(torch.nn.Linear, torch.nn))
    with pytest.raises(ValueError) as raised:
        nn.from_torch(net)
    assert message in str(raised.value)


@needs_torch
def test_from_torch_refuses_non_finite_numbers_naming_the_torch_key():
    net = torch_net(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))
    with torch.no_grad():
        net[2].weight[0, 1] = float("nan")
    with pytest.raises(ValueError, match=r"from_torch: 2.weight must hold finite numbers "):
        nn.from_torch(net)


@needs_torch
def test_the_bridge_wants_an_mlp_one_way_and_a_sequential_the_other():
    with pytest.raises(TypeError, match=r"to_torch: model must be an nn.MLP \(got Layer\)"):
        nn.to_torch(nn.Layer(2, 3))
    with pytest.raises(TypeError, match=r"from_torch: module must be a torch.nn.Sequential .*"):
        nn.from_torch(torch.nn.Linear(2, 3))


def test_without_torch_the_bridge_names_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    model = nn.MLP(2, [1], seed=0)
    for call in (lambda: nn.to_torch(model), lambda: nn.from_torch(object())):
        with pytest.raises(ImportError) as raised:
            call()
        assert 'needs PyTorch, an optional extra: pip install -e ".[torch]"' in str(raised.value)


def test_importing_nn_does_not_import_torch():
    code = "import sys, nn; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
