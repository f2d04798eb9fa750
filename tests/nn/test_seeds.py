"""The five seed notes of the project (000 to 004) reproduced with nn.

Each test builds the seed's network with this library and compares the engine's gradients with
the seed's own closed-form expressions, evaluated here independently with numpy (corrected where
the seed slipped, each correction named). Seed 000's printed figures are typed in from the seed.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import nn
from autodiff import Value, local_derivatives, topological_order

TIGHT = {"rtol": 1e-12, "atol": 1e-15}
# BCE from probabilities reads log(p + 1e-12): each term and slope moves by about 1e-12/p, below
# 1e-11 for these seeds' p ≥ 0.2, even in sums that cancel (from logits they stay exact)
NEAR_EPS = {"rtol": 1e-12, "atol": 1e-11}


def sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def labelled(root: Value) -> dict[str, Value]:
    """The nodes of one forward pass by label: W1[0,0], z1[0], a1[0], ..."""
    return {node.label: node for node in topological_order(root) if node.label}


def vector(nodes: dict[str, Value], name: str, n: int, attr: str = "data") -> np.ndarray:
    return np.array([getattr(nodes[f"{name}[{j}]"], attr) for j in range(n)])


# ---------------------------------------------------------------------------------------------
# Seed 000: x = [1], W1 = [0.2, -0.3]^T, b1 = [0.1, 0.1], W2 = [[0.4, -0.5], [0.3, 0.8]],
# b2 = [0.2, -0.1], y = [1, 0], sigmoid in both layers, L = 1/2 Σ (a2 - y)².
# ---------------------------------------------------------------------------------------------

X0 = np.array([1.0])
W1_0, B1_0 = np.array([[0.2], [-0.3]]), np.array([0.1, 0.1])
W2_0, B2_0 = np.array([[0.4, -0.5], [0.3, 0.8]]), np.array([0.2, -0.1])
Y0 = np.array([1.0, 0.0])


def seed000_closed_form() -> dict[str, np.ndarray]:
    """The seed's formulas, all correct: δ2 = (a2 - y) ⊙ σ'(z2), δ1 = W2ᵀ δ2 ⊙ σ'(z1), ..."""
    f: dict[str, np.ndarray] = {}
    f["z1"] = W1_0 @ X0 + B1_0
    f["a1"] = sig(f["z1"])
    f["W2a1"] = W2_0 @ f["a1"]
    f["z2"] = f["W2a1"] + B2_0
    f["a2"] = sig(f["z2"])
    f["L"] = 0.5 * np.sum((f["a2"] - Y0) ** 2)
    f["sp2"] = f["a2"] * (1 - f["a2"])
    f["delta2"] = (f["a2"] - Y0) * f["sp2"]
    f["dW2"] = np.outer(f["delta2"], f["a1"])
    f["W2T_delta2"] = W2_0.T @ f["delta2"]
    f["sp1"] = f["a1"] * (1 - f["a1"])
    f["delta1"] = f["W2T_delta2"] * f["sp1"]
    f["dW1"] = np.outer(f["delta1"], X0)
    return f


def seed000_engine():
    model = nn.MLP.from_weights([W1_0, W2_0], [B1_0, B2_0], activation="sigmoid")
    loss = nn.half_sse(model(X0.tolist()), Y0)
    loss.backward()
    return model, loss, labelled(loss)


def test_seed000_forward_pass_matches_the_formulas_exactly():
    f = seed000_closed_form()
    _, loss, nodes = seed000_engine()
    for name in ("z1", "a1", "z2", "a2"):
        np.testing.assert_allclose(vector(nodes, name, 2), f[name], **TIGHT)
    assert loss.data == pytest.approx(f["L"], rel=1e-12)
    # the seed's outputs, right to its four decimals
    assert np.round(vector(nodes, "a2", 2), 4).tolist() == [0.5510, 0.6065]


def test_seed000_every_gradient_matches_the_delta_rule_exactly():
    f = seed000_closed_form()
    model, _, nodes = seed000_engine()
    dW1, dW2 = model.weight_grads()
    db1, db2 = model.bias_grads()
    np.testing.assert_allclose(dW2, f["dW2"], **TIGHT)  # δ2 a1ᵀ
    np.testing.assert_allclose(db2, f["delta2"], **TIGHT)  # δ2
    np.testing.assert_allclose(dW1, f["dW1"], **TIGHT)  # δ1 xᵀ
    np.testing.assert_allclose(db1, f["delta1"], **TIGHT)  # δ1
    # the deltas themselves are the grads of the z nodes; W2ᵀ δ2 is the grad of a1
    np.testing.assert_allclose(vector(nodes, "z2", 2, "grad"), f["delta2"], **TIGHT)
    np.testing.assert_allclose(vector(nodes, "a1", 2, "grad"), f["W2T_delta2"], **TIGHT)
    np.testing.assert_allclose(vector(nodes, "z1", 2, "grad"), f["delta1"], **TIGHT)
    # σ' is the local derivative the engine uses at each sigmoid node
    for name, key in (("a1", "sp1"), ("a2", "sp2")):
        slopes = [local_derivatives(nodes[f"{name}[{j}]"])[0] for j in range(2)]
        np.testing.assert_allclose(slopes, f[key], **TIGHT)


def seed000_engine_figures() -> dict[str, float]:
    """The engine's number for each figure the seed prints, by the seed's name for it."""
    model, loss, nodes = seed000_engine()
    a1, a2 = vector(nodes, "a1", 2), vector(nodes, "a2", 2)
    dW1, dW2 = model.weight_grads()
    db1, db2 = model.bias_grads()
    sp2 = [local_derivatives(nodes[f"a2[{j}]"])[0] for j in range(2)]
    sp1 = [local_derivatives(nodes[f"a1[{j}]"])[0] for j in range(2)]
    w2 = model.weights()[1]
    return {
        "a1[0]": a1[0],
        "a1[1]": a1[1],
        "0.4·a1[0]": w2[0, 0] * a1[0],
        "-0.5·a1[1]": w2[0, 1] * a1[1],
        "0.3·a1[0]": w2[1, 0] * a1[0],
        "0.8·a1[1]": w2[1, 1] * a1[1],
        "(W2 a1)[0]": w2[0] @ a1,
        "(W2 a1)[1]": w2[1] @ a1,
        "z2[0]": nodes["z2[0]"].data,
        "z2[1]": nodes["z2[1]"].data,
        "a2[0]": a2[0],
        "a2[1]": a2[1],
        "(1 - a2[0])²": (1 - a2[0]) ** 2,
        "(0 - a2[1])²": a2[1] ** 2,
        "L": loss.data,
        "σ'(z2[0])": sp2[0],
        "σ'(z2[1])": sp2[1],
        "a2[0] - 1": a2[0] - 1,
        "a2[1] - 0": a2[1],
        "δ2[0] = dL/db2[0]": db2[0],
        "δ2[1] = dL/db2[1]": db2[1],
        "dL/dW2[0,0]": dW2[0, 0],
        "dL/dW2[0,1]": dW2[0, 1],
        "dL/dW2[1,0]": dW2[1, 0],
        "dL/dW2[1,1]": dW2[1, 1],
        "(W2ᵀ δ2)[0]": nodes["a1[0]"].grad,
        "(W2ᵀ δ2)[1]": nodes["a1[1]"].grad,
        "σ'(z1[0])": sp1[0],
        "σ'(z1[1])": sp1[1],
        "δ1[0] = dL/dW1[0] = dL/db1[0]": dW1[0, 0],
        "δ1[1] = dL/dW1[1] = dL/db1[1]": db1[1],
        "δ1[0] in the dL/dW1 line": nodes["z1[0]"].grad,
    }


# (seed's name, figure as printed in the seed, decimals printed, why it is wrong or None)
SEED000_FIGURES = [
    ("a1[0]", 0.5744, 4, None),
    ("a1[1]", 0.4502, 4, None),
    ("0.4·a1[0]", 0.2298, 4, None),
    ("-0.5·a1[1]", -0.2251, 4, None),
    ("0.3·a1[0]", 0.1723, 4, None),
    ("0.8·a1[1]", 0.3602, 4, "0.8 × the rounded 0.4502; 0.8 × 0.450166 = 0.3601 (harmless)"),
    ("(W2 a1)[0]", 0.0047, 4, None),
    ("(W2 a1)[1]", 0.5325, 4, None),
    ("z2[0]", 0.2047, 4, None),
    ("z2[1]", 0.4325, 4, None),
    ("a2[0]", 0.5510, 4, None),
    ("a2[1]", 0.6065, 4, None),
    ("(1 - a2[0])²", 0.2012, 4, "0.4490² = 0.2016: an arithmetic slip"),
    ("(0 - a2[1])²", 0.3680, 4, "0.6065² = 0.36784 → 0.3678"),
    ("L", 0.2846, 4, "½(0.2012 + 0.3680) from the two wrong squares; ½(0.2016 + 0.3678) = 0.2847"),
    ("σ'(z2[0])", 0.2474, 4, None),
    ("σ'(z2[1])", 0.2386, 4, "0.6065 × 0.3935 = 0.238658 truncated; rounds to 0.2387"),
    ("a2[0] - 1", -0.4490, 4, None),
    ("a2[1] - 0", 0.6065, 4, None),
    ("δ2[0] = dL/db2[0]", -0.1110, 4, "-0.4490 × 0.2474 = -0.111083 truncated; rounds to -0.1111"),
    ("δ2[1] = dL/db2[1]", 0.1447, 4, None),
    ("dL/dW2[0,0]", -0.0637, 4, "-0.1110 × 0.5744 = -0.063758 truncated (and δ2[0] was); -0.0638"),
    ("dL/dW2[0,1]", -0.0500, 4, None),
    ("dL/dW2[1,0]", 0.0831, 4, None),
    ("dL/dW2[1,1]", 0.0651, 4, "0.1447 × 0.4502 of rounded factors; true 0.065158 → 0.0652"),
    ("(W2ᵀ δ2)[0]", -0.0010, 4, None),
    ("(W2ᵀ δ2)[1]", 0.1713, 4, None),
    ("σ'(z1[0])", 0.2445, 4, None),
    ("σ'(z1[1])", 0.2475, 4, None),
    (
        "δ1[0] = dL/dW1[0] = dL/db1[0]",
        -0.00024,
        5,
        "-0.0010 × 0.2445 from the truncated δ2[0] and a cancellation; true -0.000247 → -0.00025",
    ),
    ("δ1[1] = dL/dW1[1] = dL/db1[1]", 0.0424, 4, None),
    ("δ1[0] in the dL/dW1 line", -0.0024, 4, "a dropped zero: δ1[0] is -0.00024 a line above"),
]


@pytest.mark.parametrize(
    ("name", "printed", "decimals", "slip"), SEED000_FIGURES, ids=[f[0] for f in SEED000_FIGURES]
)
def test_seed000_printed_figures_agree_with_the_engine_except_the_slips(
    name, printed, decimals, slip
):
    engine = round(seed000_engine_figures()[name], decimals)
    if slip is None:
        assert engine == pytest.approx(printed, abs=1e-12)
    else:
        assert engine != pytest.approx(printed, abs=1e-12), f"not a slip after all: {slip}"


def test_seed000_loss_slip_comes_from_the_two_squares_not_from_the_network():
    # the seed's ŷ = [0.5510, 0.6065] is right; squaring its own rounded numbers gives 0.2847
    own_squares = 0.5 * ((1 - 0.5510) ** 2 + 0.6065**2)
    assert own_squares == pytest.approx(0.2847, abs=5e-5)
    seed_sum = 0.5 * (0.2012 + 0.3680)
    assert seed_sum == pytest.approx(0.2846, abs=1e-12)
    assert round(seed000_closed_form()["L"].item(), 4) == 0.2847


def test_seed000_transposed_matrix_on_display_would_give_other_numbers():
    # the seed shows [[0.4, 0.3], [-0.5, 0.8]]ᵀ δ2, which is W2 δ2; its numbers are W2ᵀ δ2
    f = seed000_closed_form()
    shown = np.array([[0.4, 0.3], [-0.5, 0.8]]).T @ f["delta2"]
    assert np.round(f["W2T_delta2"], 4).tolist() == [-0.0010, 0.1713]
    assert np.round(shown, 4).tolist() != [-0.0010, 0.1713]


# ---------------------------------------------------------------------------------------------
# Seeds 001 and 003: the 2-2-2 sigmoid network, element-wise formulas, and w+ = w - η dE/dw.
# ---------------------------------------------------------------------------------------------


def random_222(seed: int, biases: bool):
    rng = np.random.default_rng(seed)
    W1, W2 = rng.uniform(-1, 1, (2, 2)), rng.uniform(-1, 1, (2, 2))
    b1 = rng.uniform(-1, 1, 2) if biases else np.zeros(2)
    b2 = rng.uniform(-1, 1, 2) if biases else np.zeros(2)
    x, target = rng.uniform(-2, 2, 2), rng.uniform(0, 1, 2)
    return W1, b1, W2, b2, x, target


def engine_222(W1, b1, W2, b2, x, target):
    model = nn.MLP.from_weights([W1, W2], [b1, b2], activation="sigmoid")
    loss = nn.half_sse(model(x.tolist()), target)
    loss.backward()
    return model, loss


@pytest.mark.parametrize("seed", range(5))
def test_seed001_elementwise_formulas_without_biases(seed):
    W1, b1, W2, b2, x, Y = random_222(seed, biases=False)
    # the seed's names: z11 = x1 w11 + x2 w12, z12 = x1 w13 + x2 w14, z21 = a11 w21 + a12 w22, ...
    (w11, w12), (w13, w14) = W1
    (w21, w22), (w23, w24) = W2
    x1, x2 = x
    a11, a12 = sig(x1 * w11 + x2 * w12), sig(x1 * w13 + x2 * w14)
    a21, a22 = sig(a11 * w21 + a12 * w22), sig(a11 * w23 + a12 * w24)
    Y1, Y2 = Y
    # seed lines 63-71; the loss is E = E1 + E2 as line 49 uses (line 41's ½(E1 + E2) is a slip)
    dw21 = (a21 - Y1) * (a21 * (1 - a21)) * a11
    dw22 = (a21 - Y1) * (a21 * (1 - a21)) * a12
    dw23 = (a22 - Y2) * (a22 * (1 - a22)) * a11
    dw24 = (a22 - Y2) * (a22 * (1 - a22)) * a12
    # seed lines 99-108
    back1 = (a21 - Y1) * a21 * (1 - a21) * w21 + (a22 - Y2) * a22 * (1 - a22) * w23
    back2 = (a21 - Y1) * a21 * (1 - a21) * w22 + (a22 - Y2) * a22 * (1 - a22) * w24
    dw11 = back1 * a11 * (1 - a11) * x1
    dw12 = back1 * a11 * (1 - a11) * x2
    dw13 = back2 * a12 * (1 - a12) * x1
    dw14 = back2 * a12 * (1 - a12) * x2
    model, loss = engine_222(W1, b1, W2, b2, x, Y)
    assert loss.data == pytest.approx(0.5 * (Y1 - a21) ** 2 + 0.5 * (Y2 - a22) ** 2, rel=1e-12)
    dW1, dW2 = model.weight_grads()
    np.testing.assert_allclose(dW2, [[dw21, dw22], [dw23, dw24]], **TIGHT)
    np.testing.assert_allclose(dW1, [[dw11, dw12], [dw13, dw14]], **TIGHT)


@pytest.mark.parametrize("seed", range(5))
def test_seed003_elementwise_formulas_with_biases(seed):
    W1, b1, W2, b2, x, target = random_222(seed, biases=True)
    # the seed's w^l_ij runs from input i to unit j: w^l_ij = W_l[j-1, i-1]
    w1 = {(i, j): W1[j - 1, i - 1] for i in (1, 2) for j in (1, 2)}
    w2 = {(i, j): W2[j - 1, i - 1] for i in (1, 2) for j in (1, 2)}
    x1, x2 = x
    yhat1, yhat2 = target  # in seed 003, ŷ is the target and y = a² the output
    a11 = sig(w1[1, 1] * x1 + w1[2, 1] * x2 + b1[0])
    a12 = sig(w1[1, 2] * x1 + w1[2, 2] * x2 + b1[1])
    a21 = sig(w2[1, 1] * a11 + w2[2, 1] * a12 + b2[0])
    a22 = sig(w2[1, 2] * a11 + w2[2, 2] * a12 + b2[1])  # seed line 63 writes f(z^2_1): a slip
    e1 = a21 * (a21 - yhat1) * (1 - a21)  # ∂E/∂z^2_1, seed line 108
    e2 = a22 * (a22 - yhat2) * (1 - a22)  # ∂E/∂z^2_2, seed line 111
    # seed lines 130-139: ∂E/∂w^2_ij
    d2 = {(1, 1): a11 * e1, (1, 2): a11 * e2, (2, 1): a12 * e1, (2, 2): a12 * e2}
    # seed lines 192-195 and 214-223: ∂E/∂z^1_j and ∂E/∂w^1_ij
    h1 = a11 * (1 - a11) * (w2[1, 1] * e1 + w2[1, 2] * e2)
    h2 = a12 * (1 - a12) * (w2[2, 1] * e1 + w2[2, 2] * e2)
    d1 = {(1, 1): x1 * h1, (1, 2): x1 * h2, (2, 1): x2 * h1, (2, 2): x2 * h2}
    model, _ = engine_222(W1, b1, W2, b2, x, target)
    dW1, dW2 = model.weight_grads()
    db1, db2 = model.bias_grads()
    for (i, j), value in d2.items():
        assert dW2[j - 1, i - 1] == pytest.approx(value, rel=1e-12, abs=1e-15)
    for (i, j), value in d1.items():
        assert dW1[j - 1, i - 1] == pytest.approx(value, rel=1e-12, abs=1e-15)
    # the seed stops before the biases: ∂E/∂b^l_j = ∂E/∂z^l_j
    np.testing.assert_allclose(db2, [e1, e2], **TIGHT)
    np.testing.assert_allclose(db1, [h1, h2], **TIGHT)


@pytest.mark.parametrize("biases", [False, True], ids=["seed001", "seed003"])
def test_update_rule_w_minus_eta_grad_changes_the_loss_as_predicted_to_first_order(biases):
    W1, b1, W2, b2, x, target = random_222(11, biases)
    residuals = []
    for eta in (1e-2, 1e-3):
        model, loss = engine_222(W1, b1, W2, b2, x, target)
        weights = [w for layer in model.layers for n in layer.neurons for w in n.w]
        params = model.parameters() if biases else weights  # seed 001 has no biases to move
        before = {p: (p.data, p.grad) for p in params}
        nn.SGD(params, lr=eta).step()
        for p, (w, g) in before.items():
            assert p.data == w - eta * g  # w+ = w - η ∂E/∂w, exactly
        after = nn.half_sse(model(x.tolist()), target).data
        predicted = -eta * sum(g * g for _, g in before.values())  # dE ≈ ∇E · Δw
        assert after - loss.data == pytest.approx(predicted, rel=eta)
        residuals.append(after - loss.data - predicted)
    # what first order leaves out is second order: η ten times smaller, residual 100 times
    assert 50 < residuals[0] / residuals[1] < 200


# ---------------------------------------------------------------------------------------------
# Seed 002: x ∈ Rⁿ, a1 = f(W1 x + b1), y = g(W2 a1 + b2); g linear (with ½‖y - t‖²) or softmax
# (with cross-entropy). The seed's δ2 is ∂L/∂a1 and its δ1 is ∂L/∂W1.
# ---------------------------------------------------------------------------------------------

F = {
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "sigmoid": (sig, lambda z: sig(z) * (1 - sig(z))),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
}


def random_nhm(seed: int, n: int = 3, h: int = 4, m: int = 5):
    rng = np.random.default_rng(seed)
    W1, b1 = rng.uniform(-1, 1, (h, n)), rng.uniform(-1, 1, h)
    W2, b2 = rng.uniform(-1, 1, (m, h)), rng.uniform(-1, 1, m)
    x = rng.uniform(-2, 2, n)
    return W1, b1, W2, b2, x, rng


@pytest.mark.parametrize("f", sorted(F))
@pytest.mark.parametrize("g", ["linear", "softmax"])
def test_seed002_generic_two_layer_gradients(f, g):
    W1, b1, W2, b2, x, rng = random_nhm(seed=len(f) + len(g))
    act, dact = F[f]
    z1 = W1 @ x + b1
    a1 = act(z1)
    z2 = W2 @ a1 + b2
    model = nn.MLP.from_weights([W1, W2], [b1, b2], activation=f, output_activation="linear")
    out = model(x.tolist())
    if g == "linear":
        y, t = z2, rng.uniform(-1, 1, 5)
        dL_dy = y - t
        jacobian = np.eye(5)  # g'(z2)
        loss = nn.half_sse(out, t)
    else:
        y, t = np.exp(z2) / np.exp(z2).sum(), rng.dirichlet(np.ones(5))
        dL_dy = -t / y
        jacobian = np.diag(y) - np.outer(y, y)  # the softmax's g'(z2)
        loss = nn.softmax_cross_entropy(out, t.tolist())
    loss.backward()
    nodes = labelled(loss)
    # the seed, read as row vectors: δ2 = ∂L/∂y · g'(z2) · W2 (= ∂L/∂a1)
    delta2 = dL_dy @ jacobian @ W2
    dz2 = dL_dy @ jacobian  # = y - t for both pairings
    np.testing.assert_allclose(dz2, y - t, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(vector(nodes, "a1", 4, "grad"), delta2, rtol=1e-10, atol=1e-14)
    dW1, dW2 = model.weight_grads()
    db1, db2 = model.bias_grads()
    # δ1 = ∂L/∂W1 = δ2 · f'(z1) · x, read as (δ2 ⊙ f'(z1)) xᵀ
    np.testing.assert_allclose(dW1, np.outer(delta2 * dact(z1), x), rtol=1e-10, atol=1e-14)
    # the seed's b1 ← b1 - η δ2 misses f'(z1): ∂L/∂b1 = δ2 ⊙ f'(z1)
    np.testing.assert_allclose(db1, delta2 * dact(z1), rtol=1e-10, atol=1e-14)
    # δ3 and δ4, named but not derived in the seed: ∂L/∂W2 = dz2 a1ᵀ, ∂L/∂b2 = dz2
    np.testing.assert_allclose(dW2, np.outer(y - t, a1), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(db2, y - t, rtol=1e-10, atol=1e-14)


def test_seed002_bias_update_with_delta2_is_not_the_gradient():
    W1, b1, W2, b2, x, rng = random_nhm(seed=2)
    model = nn.MLP.from_weights([W1, W2], [b1, b2], "sigmoid", output_activation="linear")
    loss = nn.half_sse(model(x.tolist()), rng.uniform(-1, 1, 5))
    loss.backward()
    delta2 = vector(labelled(loss), "a1", 4, "grad")  # the seed's δ2 = ∂L/∂a1
    assert not np.allclose(model.bias_grads()[0], delta2, rtol=0.05)


# ---------------------------------------------------------------------------------------------
# Seed 004: samples as columns, X n1 x m, Y 1 x m, sigmoid layers, J = mean BCE. The seed stores
# W^(1) as n1 x n2 and W^(2) as n2 x 1, the transposes of z = W x + b's W1 and W2.
# ---------------------------------------------------------------------------------------------


def random_004(seed: int, n1: int = 4, n2: int = 3, m: int = 7):
    rng = np.random.default_rng(seed)
    Ws1, b1 = rng.uniform(-1, 1, (n1, n2)), rng.uniform(-1, 1, (n2, 1))
    Ws2, b2 = rng.uniform(-1, 1, (n2, 1)), rng.uniform(-1, 1, (1, 1))
    X, Y = rng.uniform(-2, 2, (n1, m)), rng.integers(0, 2, (1, m)).astype(float)
    return Ws1, b1, Ws2, b2, X, Y


@pytest.mark.parametrize("from_logits", [False, True], ids=["probabilities", "logits"])
@pytest.mark.parametrize("seed", range(3))
def test_seed004_vectorised_gradients_as_matrices(seed, from_logits):
    Ws1, b1, Ws2, b2, X, Y = random_004(seed)
    m = X.shape[1]
    # the seed's forward and backward, in its own layout
    Z1 = Ws1.T @ X + b1
    A1 = sig(Z1)
    A2 = sig(Ws2.T @ A1 + b2)
    J = -np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))
    dWs2 = A1 @ (A2 - Y).T / m  # ∂J/∂W^(2) = 1/m A1 (A2 - Y)ᵀ, n2 x 1
    db2 = np.sum(A2 - Y) / m  # ∂J/∂b^(2) = 1/m np.sum(A2 - Y)
    # ∂J/∂W^(1) = 1/m X {[(A2 - Y)ᵀ (W^(2))ᵀ] ⊙ σ'(Z1)ᵀ}, n1 x n2 (1/m and Z1 restored, line 561)
    inner = ((A2 - Y).T @ Ws2.T) * (A1 * (1 - A1)).T
    dWs1 = X @ inner / m
    db1 = inner.sum(axis=0) / m  # line 563 restored: 1/m Σ over samples
    model = nn.MLP.from_weights(
        [Ws1.T, Ws2.T],
        [b1.ravel(), b2.ravel()],
        activation="sigmoid",
        output_activation="linear" if from_logits else "sigmoid",
    )
    outputs = [model(X[:, i].tolist()) for i in range(m)]
    if from_logits:
        loss = nn.binary_cross_entropy_with_logits(outputs, Y.ravel())
    else:
        loss = nn.binary_cross_entropy(outputs, Y.ravel())
    loss.backward()
    tol = TIGHT if from_logits else NEAR_EPS
    assert loss.data == pytest.approx(J, rel=tol["rtol"], abs=tol["atol"])
    dW1, dW2 = model.weight_grads()
    grad_b1, grad_b2 = model.bias_grads()
    np.testing.assert_allclose(dW2.T, dWs2, **tol)
    np.testing.assert_allclose(grad_b2, [db2], **tol)
    np.testing.assert_allclose(dW1.T, dWs1, **tol)
    np.testing.assert_allclose(grad_b1, db1, **tol)


def test_seed004_per_sample_dz_is_a_minus_y_and_dz1_follows_line_246():
    Ws1, b1, Ws2, b2, X, Y = random_004(5)
    model = nn.MLP.from_weights([Ws1.T, Ws2.T], [b1.ravel(), b2.ravel()], activation="sigmoid")
    for i in range(X.shape[1]):
        out = model(X[:, i].tolist())
        loss = nn.binary_cross_entropy(out, [Y[0, i]])  # j^(i), one sample
        loss.backward()
        nodes = labelled(loss)
        a1 = vector(nodes, "a1", 3)
        dz2 = out.data - Y[0, i]  # line 222
        assert nodes["z2[0]"].grad == pytest.approx(dz2, rel=1e-12, abs=1e-11)
        # line 246: dz1 = W^(2) dz2 * σ'(z1), with the seed's n2 x 1 W^(2)
        dz1 = Ws2.ravel() * dz2 * a1 * (1 - a1)
        np.testing.assert_allclose(vector(nodes, "z1", 3, "grad"), dz1, **NEAR_EPS)


def test_seed004_delta_recursion_for_a_deeper_network():
    rng = np.random.default_rng(4)
    sizes = [3, 5, 4, 2]
    Ws = [rng.uniform(-1, 1, (n_out, n_in)) for n_in, n_out in itertools.pairwise(sizes)]
    bs = [rng.uniform(-1, 1, n_out) for n_out in sizes[1:]]
    x, t = rng.uniform(-1, 1, 3), np.array([0.0, 1.0])
    zs, activations = [], [x]
    for W, b in zip(Ws, bs, strict=True):
        zs.append(W @ activations[-1] + b)
        activations.append(sig(zs[-1]))
    # δ_L = ∇_a C ⊙ σ'(z_L); δ_l = W_{l+1}ᵀ δ_{l+1} ⊙ σ'(z_l) (the transpose line 654 omits)
    deltas = [(activations[-1] - t) * activations[-1] * (1 - activations[-1])]
    for k in range(len(Ws) - 2, -1, -1):  # layer k + 1, counted from 1
        a = activations[k + 1]
        deltas.insert(0, (Ws[k + 1].T @ deltas[0]) * a * (1 - a))
    model = nn.MLP.from_weights(Ws, bs, activation="sigmoid")
    loss = nn.half_sse(model(x.tolist()), t)
    loss.backward()
    nodes = labelled(loss)
    for k, (delta, a_prev) in enumerate(zip(deltas, activations, strict=False)):
        np.testing.assert_allclose(vector(nodes, f"z{k + 1}", len(delta), "grad"), delta, **TIGHT)
        # ∂C/∂w^l_jk = δ^l_j a^(l-1)_k and ∂C/∂b^l_j = δ^l_j (lines 658, 662)
        np.testing.assert_allclose(model.weight_grads()[k], np.outer(delta, a_prev), **TIGHT)
        np.testing.assert_allclose(model.bias_grads()[k], delta, **TIGHT)
    with pytest.raises(ValueError, match="matmul: Input operand 1 has a mismatch"):
        Ws[2] @ deltas[2]  # without the transpose: a 2 x 4 matrix cannot take a 2-vector
