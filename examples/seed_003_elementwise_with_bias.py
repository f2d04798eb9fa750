"""Seed 003: the 2-2-2 sigmoid network with biases, in the seed's w^l_ij notation, checked.

    python examples/seed_003_elementwise_with_bias.py

The project's seed note 003, element-wise formulas with biases, derives each weight gradient of
a 2-2-2 sigmoid network with biases in six chain-rule steps. Its weight w^l_ij runs from input i
to unit j (z^1_1 = w^1_11 x1 + w^1_21 x2 + b^1_1), so in the z = W x + b convention
w^l_ij = Wl[j-1, i-1]: the seed's w^1_21 is the engine's W1[0,1]. Careful: here ŷ is the target
and y = a² the output, the other way round from seeds 000 and 001. This script evaluates each of
the seed's formulas with plain floats beside the engine's gradients, adds the bias gradients the
seed leaves out, takes one step of w+ = w - η ∂E/∂w, and shows the seed's slips with numbers.
"""

from __future__ import annotations

import math

import nn
from autodiff import Value, topological_order

from cli import help_only

X = [0.05, 0.10]
W1 = [[0.15, 0.20], [0.25, 0.30]]  # W1[j-1][i-1] = w^1_ij
B1 = [0.35, 0.30]
W2 = [[0.40, 0.45], [0.50, 0.55]]  # W2[j-1][i-1] = w^2_ij
B2 = [0.60, 0.65]
TARGET = [0.01, 0.99]  # the seed's ŷ1, ŷ2
ETA = 0.5


def sigma(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def w(layer: int, i: int, j: int) -> float:
    """The seed's w^layer_ij (from input i to unit j)."""
    return (W1 if layer == 1 else W2)[j - 1][i - 1]


def seed_formulas() -> dict[str, float]:
    """∂E/∂w^l_ij as the seed writes it (lines 130-139, 214-223); ∂E/∂b^l_j = ∂E/∂z^l_j."""
    x1, x2 = X
    yhat1, yhat2 = TARGET
    a11 = sigma(w(1, 1, 1) * x1 + w(1, 2, 1) * x2 + B1[0])
    a12 = sigma(w(1, 1, 2) * x1 + w(1, 2, 2) * x2 + B1[1])
    a21 = sigma(w(2, 1, 1) * a11 + w(2, 2, 1) * a12 + B2[0])
    a22 = sigma(w(2, 1, 2) * a11 + w(2, 2, 2) * a12 + B2[1])
    e21 = a21 * (a21 - yhat1) * (1 - a21)  # ∂E/∂z^2_1
    e22 = a22 * (a22 - yhat2) * (1 - a22)  # ∂E/∂z^2_2
    e11 = a11 * (1 - a11) * (w(2, 1, 1) * e21 + w(2, 1, 2) * e22)  # ∂E/∂z^1_1
    e12 = a12 * (1 - a12) * (w(2, 2, 1) * e21 + w(2, 2, 2) * e22)  # ∂E/∂z^1_2
    return {
        "w^2_11": a11 * e21,
        "w^2_12": a11 * e22,
        "w^2_21": a12 * e21,
        "w^2_22": a12 * e22,
        "w^1_11": x1 * e11,
        "w^1_12": x1 * e12,
        "w^1_21": x2 * e11,
        "w^1_22": x2 * e12,
        "b^2_1": e21,
        "b^2_2": e22,
        "b^1_1": e11,
        "b^1_2": e12,
    }


def label(name: str) -> str:
    """The engine's label for the seed's w^l_ij or b^l_j."""
    layer = name[2]
    if name[0] == "b":
        return f"b{layer}[{int(name[4]) - 1}]"
    i, j = int(name[4]), int(name[5])
    return f"W{layer}[{j - 1},{i - 1}]"


def build() -> tuple[nn.MLP, Value]:
    model = nn.MLP.from_weights([W1, W2], [B1, B2], activation="sigmoid")
    loss = nn.half_sse(model(X), TARGET)
    loss.backward()
    return model, loss


def main() -> None:
    model, loss = build()
    params = {p.label: p for p in model.parameters()}
    print("Seed 003: a 2-2-2 sigmoid network with biases, E = ½(ŷ1 - a^2_1)² + ½(ŷ2 - a^2_2)²")
    print(f"x = {X}, target ŷ = {TARGET}:  E = {loss.data:.12f}\n")
    print(f"{'seed':<12}{'label':<9}{'seed formula':>20}{'engine backward':>20}")
    for name, value in seed_formulas().items():
        engine = params[label(name)].grad
        mark = "ok" if math.isclose(engine, value, rel_tol=1e-12) else "MISMATCH"
        note = "  (not in the seed: ∂E/∂b = ∂E/∂z)" if name[0] == "b" else ""
        print(f"∂E/∂{name:<8}{label(name):<9}{value:>20.12e}{engine:>20.12e}  {mark}{note}")

    before = loss.data
    grads = [p.grad for p in model.parameters()]
    nn.SGD(model.parameters(), lr=ETA).step()
    after = nn.half_sse(model(X), TARGET).data
    predicted = -ETA * sum(g * g for g in grads)
    print(f"\nOne step of w+ = w - η ∂E/∂w (biases too), η = {ETA}: E {before:.9f} -> {after:.9f};")
    print(f"the change {after - before:.4e} against the first-order -η Σ g² = {predicted:.4e}.")

    _, fresh_loss = build()
    node = {v.label: v for v in topological_order(fresh_loss) if v.label}
    z21, z22 = node["z2[0]"].data, node["z2[1]"].data
    print("\nSlips in the seed (line numbers of seed note 003):")
    print("SLIP  line 63: a^2_2 = f(z^2_1). It is f(z^2_2), as line 105's ∂a^2_2/∂z^2_2 uses:")
    print(f"      f(z^2_1) = {sigma(z21):.6f} would repeat a^2_1, while a^2_2 = f(z^2_2)")
    print(f"      = {sigma(z22):.6f}.")
    print("SLIP  line 149: z^2_2 = w^2_12 a^1_1 + w^2_22 a^1_2 + b^2_1 restates the forward pass")
    print(f"      with the wrong bias: it gives {z22 - B2[1] + B2[0]:.6f}, not z^2_2 = {z22:.6f}")
    print("      (line 58 has b^2_2).")
    print("SLIP  lines 129-138: ∂E/w^2_11 (and 12, 21, 22) lack the ∂ of ∂w; the products")
    print("      are right.")
    print("NOTE  the biases enter the forward pass but their gradients are never derived:")
    print("      ∂E/∂b^l_j = ∂E/∂z^l_j (the table's last four rows).")
    print("NOTE  ŷ names the target here and y the output, the reverse of seeds 000 and 001;")
    print("      the headings 第一层 .. 第六层 ('layer 1 .. 6') number chain-rule steps,")
    print("      not layers.")


if __name__ == "__main__":
    help_only(__file__, __doc__)
    main()
