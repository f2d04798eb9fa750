"""Seed 002: the generic n-h-m network, a1 = f(W1 x + b1) and y = g(W2 a1 + b2), checked.

    python examples/seed_002_generic_network.py

The project's seed note 002, the generic n-h-m network, writes backpropagation for any hidden
activation f and output g (linear, or softmax) in matrix form. Its symbols are its own: δ2 is
∂L/∂a1 (the gradient at the hidden activations), δ1 is ∂L/∂W1, and δ3, δ4 stand for ∂L/∂W2,
∂L/∂b2, which it names but does not derive. This script builds a 3-4-3 network with nn,
evaluates each of the seed's expressions with numpy (read as row-vector Jacobian products, which
is how they are right) for two pairings, g linear with L = ½‖y - t‖² and g softmax with
cross-entropy, and sets each beside the engine's gradients. The seed's slips follow, each with
the numbers that show it.
"""

from __future__ import annotations

import numpy as np

import nn
from autodiff import Value, topological_order

from cli import help_only

N, H, M = 3, 4, 3
RNG = np.random.default_rng(2)
W1, B1 = RNG.uniform(-1, 1, (H, N)), RNG.uniform(-0.5, 0.5, H)
W2, B2 = RNG.uniform(-1, 1, (M, H)), RNG.uniform(-0.5, 0.5, M)
X = np.array([0.5, -1.0, 2.0])
T_LINEAR = np.array([0.3, -0.2, 0.8])
T_SOFTMAX = np.array([0.0, 1.0, 0.0])


def f(z: np.ndarray) -> np.ndarray:
    return np.tanh(z)


def f_prime(z: np.ndarray) -> np.ndarray:
    return 1.0 - np.tanh(z) ** 2


def engine(g: str) -> tuple[nn.MLP, dict[str, Value]]:
    """The network with nn (its last layer gives z2), the loss for g, and backward."""
    model = nn.MLP.from_weights([W1, W2], [B1, B2], activation="tanh", output_activation="linear")
    z2 = model(X.tolist())
    if g == "linear":
        loss = nn.half_sse(z2, T_LINEAR)
    else:
        loss = nn.softmax_cross_entropy(z2, T_SOFTMAX.tolist())
    loss.backward()
    return model, {v.label: v for v in topological_order(loss) if v.label}


def seed_expressions(g: str) -> dict[str, np.ndarray]:
    """The seed's quantities for output g, evaluated with numpy."""
    z1 = W1 @ X + B1
    a1 = f(z1)
    z2 = W2 @ a1 + B2
    if g == "linear":
        y, t = z2, T_LINEAR
        dL_dy = y - t  # L = ½‖y - t‖²
        g_prime = np.eye(M)
    else:
        y, t = np.exp(z2 - z2.max()) / np.exp(z2 - z2.max()).sum(), T_SOFTMAX
        dL_dy = -t / y  # L = -Σ t log y
        g_prime = np.diag(y) - np.outer(y, y)  # the softmax's Jacobian
    delta2 = dL_dy @ g_prime @ W2  # δ2 = ∂L/∂y · g'(W2 a1 + b2) · W2 (lines 36-40)
    dz2 = dL_dy @ g_prime
    return {
        "z1": z1,
        "a1": a1,
        "dz2": dz2,
        "y - t": y - t,
        "delta2": delta2,
        "delta1": np.outer(delta2 * f_prime(z1), X),  # δ1 = δ2 · f'(W1 x + b1) · x (line 50)
        "db1": delta2 * f_prime(z1),
        "delta3": np.outer(dz2, a1),  # ∂L/∂W2
        "delta4": dz2,  # ∂L/∂b2
    }


def gap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def main() -> None:
    print(__doc__.split("\n\n")[0])
    print(f"n, h, m = {N}, {H}, {M}; f = tanh; x = {X.tolist()}\n")
    for g, loss_name in (("linear", "½‖y - t‖²"), ("softmax", "cross-entropy")):
        model, node = engine(g)
        s = seed_expressions(g)
        a1_grad = np.array([node[f"a1[{j}]"].grad for j in range(H)])
        dW1, dW2 = model.weight_grads()
        db1, db2 = model.bias_grads()
        print(f"g = {g}, L = {loss_name}; the output error ∂L/∂z2 = ∂L/∂y · g' is y - t in both")
        print(f"  (gap {gap(s['dz2'], s['y - t']):.1e}):")
        rows = [
            ("δ2 = ∂L/∂y · g'(z2) · W2", "∂L/∂a1", s["delta2"], a1_grad),
            ("δ1 = (δ2 ⊙ f'(z1)) xᵀ", "∂L/∂W1", s["delta1"], dW1),
            ("δ2 ⊙ f'(z1)", "∂L/∂b1", s["db1"], db1),
            ("δ3 = (y - t) a1ᵀ", "∂L/∂W2", s["delta3"], dW2),
            ("δ4 = y - t", "∂L/∂b2", s["delta4"], db2),
        ]
        for formula, meaning, value, got in rows:
            distance = gap(value, got)
            mark = "ok" if distance < 1e-12 else "MISMATCH"
            print(f"  {formula:<28} is {meaning:<7} engine gap {distance:.1e}  {mark}")
        print()

    s = seed_expressions("linear")
    model, node = engine("linear")
    db1 = model.bias_grads()[0]
    print("Slips in the seed (line numbers of seed note 002):")
    print("SLIP  lines 36-40: ∂y/∂a1 = g'(W2 a1 + b2) · W2 and δ2 = ∂L/∂y · g' · W2 are right only")
    print("      as Jacobian products of row vectors (above). Read elementwise, as numpy's '*'")
    try:
        s["y - t"] * np.ones(M) * W2  # ∂L/∂y * g'(z2) * W2 for linear g: (m,) * (m,) * (m, h)
    except ValueError as error:
        print(f"      would take them, they fail: {str(error).strip()}")
    print("      (and when m = h they give an m x h matrix, silently). In column vectors:")
    print("      δ2 = W2ᵀ (g'(z2)ᵀ ∂L/∂y).")
    print("SLIP  line 46: ∂a1/∂W1 = f'(W1 x + b1) · x is a 3-index array (h x h x n): only")
    print("      ∂a1_j/∂W1[j,k] = f'(z1_j) x_k is non-zero. It is no product of two vectors.")
    print("SLIP  line 50: δ1 = ∂L/∂W1 = δ2 · f'(z1) · x multiplies an h-, an h- and an n-vector;")
    print("      it is the outer product (δ2 ⊙ f'(z1)) xᵀ, h x n (the table's δ1 row).")
    print("SLIP  line 60: b1 ← b1 - η δ2 uses ∂L/∂a1 for ∂L/∂b1, which is δ2 ⊙ f'(z1):")
    print(f"      δ2 = {np.array2string(s['delta2'], precision=4)}")
    shown = np.array2string(db1, precision=4)
    print(f"      ∂L/∂b1 = {shown} (engine); gap {gap(s['delta2'], db1):.3f}.")
    print("SLIP  lines 63-69: δ3 and δ4 are called the gradients 'from output to hidden and from")
    print("      hidden to input layer'. Both belong to the output layer: δ3 = ∂L/∂W2 = dz2 a1ᵀ")
    print("      and δ4 = ∂L/∂b2 = dz2 (the table's last two rows).")
    print("Note: the usual δ_l = ∂L/∂z_l (seeds 000, 004) differs from this seed's δ1, δ2; the")
    dz1 = np.array([node[f"z1[{j}]"].grad for j in range(H)])
    print(f"      engine's ∂L/∂z1 = {np.array2string(dz1, precision=4)}, which is ∂L/∂b1.")


if __name__ == "__main__":
    help_only(__file__, __doc__)
    main()
