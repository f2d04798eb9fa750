"""Seed 001: the 2-2-2 sigmoid network without biases, gradient by gradient, then one update.

    python examples/seed_001_elementwise_no_bias.py

The project's seed note 001, element-wise formulas without biases, derives every weight's
gradient of a 2-2-2 sigmoid network as a product of local derivatives, then updates each weight
with w+ = w - η ∂E/∂w. This script puts numbers in: it evaluates each of the seed's formulas
with plain floats, sets it beside the gradient the engine finds by backward(), takes one step
with nn.SGD and checks that the loss falls as the first-order prediction says. The seed's slips
are listed at the end, each with the numbers that show it.

The seed names weights by destination unit, row by row: z11 = x1 w11 + x2 w12 and
z12 = x1 w13 + x2 w14, so (w11, w12, w13, w14) is W1 read row by row (labels W1[0,0], W1[0,1],
W1[1,0], W1[1,1]), and likewise w21..w24 is W2. The loss is E = E1 + E2 = ½(Y1 - a21)² +
½(Y2 - a22)², which nn.half_sse computes.
"""

from __future__ import annotations

import math

import nn
from autodiff import local_derivatives, topological_order

from cli import help_only

X = [0.05, 0.10]
W1 = [[0.15, 0.20], [0.25, 0.30]]  # [[w11, w12], [w13, w14]]
W2 = [[0.40, 0.45], [0.50, 0.55]]  # [[w21, w22], [w23, w24]]
Y = [0.01, 0.99]
ETA = 0.5


def sigma(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def build() -> tuple[nn.MLP, float]:
    """The seed's network (its biases held at 0: the seed has none) and E after backward."""
    model = nn.MLP.from_weights([W1, W2], [[0.0, 0.0], [0.0, 0.0]], activation="sigmoid")
    loss = nn.half_sse(model(X), Y)
    loss.backward()
    return model, loss.data


def seed_formulas() -> dict[str, float]:
    """Each ∂E/∂w exactly as the seed writes it (lines 63-71 and 99-108), in plain floats."""
    (w11, w12), (w13, w14) = W1
    (w21, w22), (w23, w24) = W2
    x1, x2 = X
    Y1, Y2 = Y
    a11, a12 = sigma(x1 * w11 + x2 * w12), sigma(x1 * w13 + x2 * w14)
    a21, a22 = sigma(a11 * w21 + a12 * w22), sigma(a11 * w23 + a12 * w24)
    out1 = (a21 - Y1) * (a21 * (1 - a21))
    out2 = (a22 - Y2) * (a22 * (1 - a22))
    hidden1 = (out1 * w21 + out2 * w23) * a11 * (1 - a11)
    hidden2 = (out1 * w22 + out2 * w24) * a12 * (1 - a12)
    return {
        "w21": out1 * a11,
        "w22": out1 * a12,
        "w23": out2 * a11,
        "w24": out2 * a12,
        "w11": hidden1 * x1,
        "w12": hidden1 * x2,
        "w13": hidden2 * x1,
        "w14": hidden2 * x2,
    }


def matrix_form_error(model: nn.MLP) -> float:
    """Largest gap between ((W2ᵀ δ2) ⊙ a1 ⊙ (1 - a1)) xᵀ and the engine's dE/dW1."""
    loss = nn.half_sse(model(X), Y)
    model.zero_grad()
    loss.backward()
    a1 = [sigma(sum(w * x for w, x in zip(row, X, strict=True))) for row in W1]
    a2 = [sigma(sum(w * a for w, a in zip(row, a1, strict=True))) for row in W2]
    delta2 = [(a - y) * a * (1 - a) for a, y in zip(a2, Y, strict=True)]
    back = [sum(W2[k][j] * delta2[k] for k in range(2)) for j in range(2)]  # W2ᵀ δ2
    delta1 = [back[j] * a1[j] * (1 - a1[j]) for j in range(2)]
    dW1 = model.weight_grads()[0]
    return max(abs(delta1[j] * X[k] - dW1[j, k]) for j in range(2) for k in range(2))


# the seed's weight names and where each sits in the model
NAMES = {
    "w11": "W1[0,0]",
    "w12": "W1[0,1]",
    "w13": "W1[1,0]",
    "w14": "W1[1,1]",
    "w21": "W2[0,0]",
    "w22": "W2[0,1]",
    "w23": "W2[1,0]",
    "w24": "W2[1,1]",
}


def main() -> None:
    model, loss = build()
    params = {p.label: p for p in model.parameters()}
    print("Seed 001: a 2-2-2 sigmoid network without biases, E = ½(Y1 - a21)² + ½(Y2 - a22)²")
    print(f"x = {X}, Y = {Y}, W1 = {W1}, W2 = {W2}:  E = {loss:.12f}\n")
    print(f"{'seed':<6}{'label':<10}{'seed formula':>20}{'engine backward':>20}")
    formulas = seed_formulas()
    for name in ("w21", "w22", "w23", "w24", "w11", "w12", "w13", "w14"):
        engine = params[NAMES[name]].grad
        mark = "ok" if math.isclose(engine, formulas[name], rel_tol=1e-12) else "MISMATCH"
        print(f"∂E/∂{name:<4}{NAMES[name]:<8}{formulas[name]:>20.12e}{engine:>20.12e}  {mark}")

    print(f"\nOne step of w+ = w - η ∂E/∂w with η = {ETA} (nn.SGD, weights only):")
    weights = [params[label] for label in NAMES.values()]
    grads = {w.label: (w.data, w.grad) for w in weights}
    nn.SGD(weights, lr=ETA).step()
    for name, label in NAMES.items():
        w, g = grads[label]
        print(f"  {name}+ = {w:.2f} - {ETA} × ({g:+.6f}) = {params[label].data:.6f}")
    after = nn.half_sse(model(X), Y).data
    predicted = -ETA * sum(g * g for _, g in grads.values())
    print(f"  E: {loss:.9f} -> {after:.9f}, a change of {after - loss:.3e};")
    print(f"  first order predicts -η Σ (∂E/∂w)² = {predicted:.3e}")
    for eta in (0.05, 0.005):
        smaller, before = build()
        moved = [p for p in smaller.parameters() if p.label in grads]
        nn.SGD(moved, lr=eta).step()
        change = nn.half_sse(smaller(X), Y).data - before
        ratio = change / (-eta * sum(g * g for _, g in grads.values()))
        print(f"  η = {eta}: change / prediction = {ratio:.6f} (first order: closer as η shrinks)")

    print("\nSlips in the seed (line numbers of seed note 001):")
    fresh, _ = build()
    out = fresh(X)
    e1 = nn.half_sse(out[0], Y[0])
    e2 = nn.half_sse(out[1], Y[1])
    halved = 0.5 * (e1 + e2)  # line 41's E
    fresh.zero_grad()
    halved.backward()
    w21 = {p.label: p for p in fresh.parameters()}["W2[0,0]"]
    print("SLIP  line 41: E = ½(E1 + E2). Lines 49-53 differentiate E1 + E2, the seed's own")
    print(f"      loss; with line 41's E, ∂E/∂w21 = {w21.grad:.6e}, half of the")
    print(f"      formula's {formulas['w21']:.6e}. It should read E = E1 + E2.")

    node = {v.label: v for v in topological_order(out[0]) if v.label}
    z21 = node["z2[0]"].data
    written = -math.exp(-z21) / (1 + math.exp(-z21)) ** 2
    slope = local_derivatives(node["a2[0]"])[0]
    print("SLIP  line 55: ∂a21/∂z21 = -e^(-z21)/(1 + e^(-z21))²: both minus signs are wrong;")
    print(f"      at z21 = {z21:.6f} that is {written:.6f}, while σ'(z21) = a21(1 - a21) =")
    print(f"      {slope:.6f} (the engine's local derivative), as the seed's line 57 concludes.")

    partials = local_derivatives(node["z2[0]"])  # z21 = w21 a11 + w22 a12 + b: (a11, a12, ...)
    print("SLIP  line 61: ∂z21/∂w21 = a11 · [column of output errors] [a11 a12]: ∂z21/∂w21 is")
    print(f"      just a11 = {partials[0]:.6f}; the matrix is ∂E/∂W2 = δ2 a1ᵀ, a separate result.")

    print("SLIP  line 83: ∂E/∂W = [[w21, w23], [w22, w24]] [δ2] [a1(1 - a1)] [x1 x2] is not a")
    print("      product of matrices (2x2 · 2x1 · 2x1 · 1x2) and lacks its '='. It is")
    print("      ∂E/∂W1 = ((W2ᵀ δ2) ⊙ a1 ⊙ (1 - a1)) xᵀ; evaluated, it differs from the engine's")
    print(f"      dE/dW1 by at most {matrix_form_error(fresh):.1e}.")

    w = params["W2[0,0]"]
    before, g = grads["W2[0,0]"]
    print("SLIP  lines 120-124: the update is written ∂y/∂x = ∂y/∂x - η ∂y/∂x and 'the derivative")
    print("      moves left'. What moves is the weight: x ← x - η ∂y/∂x. Here ∂E/∂w21 =")
    print(f"      {g:+.6f} > 0, so w21 moved left, from {before:.6f} to {w.data:.6f}.")


if __name__ == "__main__":
    help_only(__file__, __doc__)
    main()
