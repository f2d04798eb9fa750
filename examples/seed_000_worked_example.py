"""Seed 000, the worked 1-2-2 example: every figure the seed prints beside the engine's.

    python examples/seed_000_worked_example.py

The project's seed note 000, a worked 1-2-2 example, works one forward and backward pass of a
small sigmoid network by hand, to four decimals: x = [1], W^[1] = [0.2, -0.3]^T, b^[1] = [0.1, 0.1],
W^[2] = [[0.4, -0.5], [0.3, 0.8]], b^[2] = [0.2, -0.1], target y = [1, 0], L = 1/2 Σ (a2 - y)².
This script builds the same network with `nn.MLP.from_weights`, runs it once, and prints each
of the seed's figures next to the engine's, rounded the same way. A row is marked SLIP when the
two disagree, with the reason on the line below. The engine's numbers are exact to about 1e-16:
the seed's slips in numbers are arithmetic and rounding. Its formulas give the engine's
gradients, except that (W^[2])ᵀ δ^[2] is written with the transpose applied twice (the numbers
beside it are those of the right formula); the script ends with that slip and one in naming.
"""

from __future__ import annotations

import nn
from autodiff import Value, local_derivatives, topological_order

from cli import help_only

X = [1.0]
WEIGHTS = [[[0.2], [-0.3]], [[0.4, -0.5], [0.3, 0.8]]]  # W^[l] is nout x nin: z = W x + b
BIASES = [[0.1, 0.1], [0.2, -0.1]]
TARGET = [1.0, 0.0]

# (the seed's name for a figure, the figure as the seed prints it, why the seed's figure is off)
SEED_FIGURES = [
    ("a1[0] = σ(0.3)", "0.5744", ""),
    ("a1[1] = σ(-0.2)", "0.4502", ""),
    ("0.4 · a1[0]", "0.2298", ""),
    ("-0.5 · a1[1]", "-0.2251", ""),
    ("0.3 · a1[0]", "0.1723", ""),
    ("0.8 · a1[1]", "0.3602", "0.8 × rounded 0.4502 = 0.36016; true 0.360133 (harmless)"),
    ("(W2 a1)[0]", "0.0047", ""),
    ("(W2 a1)[1]", "0.5325", ""),
    ("z2[0]", "0.2047", ""),
    ("z2[1]", "0.4325", ""),
    ("a2[0] = ŷ1", "0.5510", ""),
    ("a2[1] = ŷ2", "0.6065", ""),
    ("(1 - a2[0])²", "0.2012", "arithmetic slip: 0.4490² = 0.2016"),
    ("(0 - a2[1])²", "0.3680", "0.6065² = 0.36784, which rounds to 0.3678"),
    ("L", "0.2846", "½(0.2012 + 0.3680) adds the two wrong squares; ½(0.2016 + 0.3678) = 0.2847"),
    ("σ'(z2[0]) = a2[0](1 - a2[0])", "0.2474", ""),
    ("σ'(z2[1]) = a2[1](1 - a2[1])", "0.2386", "0.6065 × 0.3935 = 0.238658 truncated, not rounded"),
    ("a2[0] - y[0]", "-0.4490", ""),
    ("a2[1] - y[1]", "0.6065", ""),
    ("δ2[0] = dL/db2[0]", "-0.1110", "-0.4490 × 0.2474 = -0.111083 truncated, not rounded"),
    ("δ2[1] = dL/db2[1]", "0.1447", ""),
    ("dL/dW2[0,0] = δ2[0] a1[0]", "-0.0637", "-0.1110 × 0.5744 = -0.063758 truncated"),
    ("dL/dW2[0,1] = δ2[0] a1[1]", "-0.0500", ""),
    ("dL/dW2[1,0] = δ2[1] a1[0]", "0.0831", ""),
    ("dL/dW2[1,1] = δ2[1] a1[1]", "0.0651", "0.1447 × 0.4502 of rounded factors; true 0.065158"),
    ("(W2ᵀ δ2)[0]", "-0.0010", ""),
    ("(W2ᵀ δ2)[1]", "0.1713", ""),
    ("σ'(z1[0]) = σ'(0.3)", "0.2445", ""),
    ("σ'(z1[1]) = σ'(-0.2)", "0.2475", ""),
    (
        "δ1[0] = dL/dW1[0,0] = dL/db1[0]",
        "-0.00024",
        "-0.0010 × 0.2445: W2ᵀ δ2 cancels to 2 digits, and from the truncated δ2[0]",
    ),
    ("δ1[1] = dL/dW1[1,0] = dL/db1[1]", "0.0424", ""),
    ("δ1[0] inside the dL/dW1 line", "-0.0024", "a dropped zero: the line before has -0.00024"),
]


def engine_figures() -> tuple[list[float], list[float]]:
    """The engine's number for each entry of SEED_FIGURES, in order; and W2 δ2 (see main)."""
    model = nn.MLP.from_weights(WEIGHTS, BIASES, activation="sigmoid")
    loss = nn.half_sse(model(X), TARGET)
    loss.backward()
    node: dict[str, Value] = {v.label: v for v in topological_order(loss) if v.label}
    a1 = [node["a1[0]"].data, node["a1[1]"].data]
    a2 = [node["a2[0]"].data, node["a2[1]"].data]
    W2 = model.weights()[1]
    dW1, dW2 = model.weight_grads()
    db1, db2 = model.bias_grads()

    def slope(label: str) -> float:  # σ'(z) as the engine's sigmoid node computes it
        return local_derivatives(node[label])[0]

    figures = [
        a1[0],
        a1[1],
        W2[0, 0] * a1[0],
        W2[0, 1] * a1[1],
        W2[1, 0] * a1[0],
        W2[1, 1] * a1[1],
        W2[0] @ a1,
        W2[1] @ a1,
        node["z2[0]"].data,
        node["z2[1]"].data,
        a2[0],
        a2[1],
        (TARGET[0] - a2[0]) ** 2,
        (TARGET[1] - a2[1]) ** 2,
        loss.data,
        slope("a2[0]"),
        slope("a2[1]"),
        a2[0] - TARGET[0],
        a2[1] - TARGET[1],
        db2[0],
        db2[1],
        dW2[0, 0],
        dW2[0, 1],
        dW2[1, 0],
        dW2[1, 1],
        node["a1[0]"].grad,  # dL/da1 = W2ᵀ δ2
        node["a1[1]"].grad,
        slope("a1[0]"),
        slope("a1[1]"),
        dW1[0, 0],
        db1[1],
        node["z1[0]"].grad,  # δ1 = dL/dz1
    ]
    return figures, list(W2 @ db2)


def decimals(printed: str) -> int:
    return len(printed.split(".")[1])


def main() -> None:
    print("Seed 000: a 1-2-2 sigmoid network, x = [1], y = [1, 0], L = ½ Σ (a2 - y)²,")
    print("built with nn.MLP.from_weights. Each figure the seed prints, beside the engine's")
    print("rounded as the seed rounds it, and the engine's to 12 digits.\n")
    print(f"{'quantity':<32}{'seed':>9}{'engine':>10}   {'engine, 12 digits':<20}")
    figures, w2_delta2 = engine_figures()
    slips = 0
    for (name, printed, reason), value in zip(SEED_FIGURES, figures, strict=True):
        shown = f"{value:.{decimals(printed)}f}"
        agrees = shown == printed
        slips += not agrees
        print(f"{name:<32}{printed:>9}{shown:>10}   {value:<20.12g}{'ok' if agrees else 'SLIP'}")
        if not agrees:
            print(f"{'':<6}why: {reason or '(no reason recorded)'}")
    print(f"\n{len(SEED_FIGURES) - slips} of {len(SEED_FIGURES)} figures agree; {slips} are slips.")
    print("The seed chains four-decimal numbers and sometimes truncates instead of rounding, and")
    print("two of its squares are miscalculated. Its formulas give the engine's gradients to")
    print("1e-12 (tests/nn/test_seeds.py), except that one is written with a transpose too many:")
    print("the second slip below.")
    print("\nSlips in the text, with no number of their own:")
    print("  - the diagram writes the outputs as σ(z₁), σ(z₂), the hidden layer's names:")
    print("    they are σ(z^[2]_1), σ(z^[2]_2)")
    shown = ", ".join(f"{v:.4f}" for v in w2_delta2)
    print("  - (W^[2])ᵀ δ^[2] is written [[0.4, 0.3], [-0.5, 0.8]]ᵀ δ^[2]; that matrix is already")
    print(f"    W2ᵀ, so the extra ᵀ gives W2 δ2 = [{shown}]. The numbers shown are W2ᵀ δ2's.")


if __name__ == "__main__":
    help_only(__file__, __doc__)
    main()
