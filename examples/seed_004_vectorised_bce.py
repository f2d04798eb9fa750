"""Seed 004: the vectorised n1-n2-1 network with mean binary cross-entropy, as matrices.

    python examples/seed_004_vectorised_bce.py

The project's seed note 004, a vectorised network with mean binary cross-entropy, puts m
samples side by side as the columns of X (n1 x m) and derives the gradients of
J = -1/m Σ [y log a2 + (1 - y) log(1 - a2)] as matrix products, then the general recursion
δ^l = (W^(l+1))ᵀ δ^(l+1) ⊙ σ'(z^l). It stores W^(1) as n1 x n2 and W^(2) as n2 x 1
(z = Wᵀ x + b), the transposes of nn's nout x nin matrices: nn's W1 is the seed's (W^(1))ᵀ.
This script evaluates each of the seed's matrix formulas with numpy, compares it with the
engine's gradients, checks the recursion on a deeper network, and shows the seed's slips with
numbers.
"""

from __future__ import annotations

import itertools

import numpy as np

import nn
from autodiff import topological_order

from cli import help_only

N1, N2, M = 4, 3, 6
RNG = np.random.default_rng(4)
WS1, B1 = RNG.uniform(-1, 1, (N1, N2)), RNG.uniform(-0.5, 0.5, (N2, 1))  # the seed's layout
WS2, B2 = RNG.uniform(-1, 1, (N2, 1)), RNG.uniform(-0.5, 0.5, (1, 1))
X = RNG.uniform(-2, 2, (N1, M))
Y = np.array([[0.0, 1.0, 1.0, 0.0, 1.0, 0.0]])


def sig(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def engine(from_logits: bool) -> nn.MLP:
    """The seed's network with nn (W = the seed's matrix transposed), J, and backward."""
    model = nn.MLP.from_weights(
        [WS1.T, WS2.T],
        [B1.ravel(), B2.ravel()],
        activation="sigmoid",
        output_activation="linear" if from_logits else "sigmoid",
    )
    outputs = [model(X[:, i].tolist()) for i in range(M)]
    if from_logits:
        loss = nn.binary_cross_entropy_with_logits(outputs, Y.ravel())
    else:
        loss = nn.binary_cross_entropy(outputs, Y.ravel())
    loss.backward()
    return model


def gap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def show(rows: list[tuple[str, str, np.ndarray, np.ndarray]]) -> None:
    for formula, shape, value, got in rows:
        mark = "ok" if gap(value, got) < 1e-12 else "MISMATCH"
        print(f"  {formula:<46} {shape:<8} engine gap {gap(value, got):.1e}  {mark}")


def general_recursion() -> tuple[list[float], str]:
    """δ^l by the recursion on a 3-5-4-2 sigmoid net against the engine's ∂C/∂z: the gap per
    layer, and what line 654's product without the transpose does there."""
    rng = np.random.default_rng(0)
    sizes = [3, 5, 4, 2]
    Ws = [rng.uniform(-1, 1, (n_out, n_in)) for n_in, n_out in itertools.pairwise(sizes)]
    bs = [rng.uniform(-1, 1, n) for n in sizes[1:]]
    x, t = rng.uniform(-1, 1, 3), np.array([1.0, 0.0])
    zs, acts = [], [x]
    for W, b in zip(Ws, bs, strict=True):
        zs.append(W @ acts[-1] + b)
        acts.append(sig(zs[-1]))
    deltas = [(acts[-1] - t) * acts[-1] * (1 - acts[-1])]  # δ^L = ∇_a C ⊙ σ'(z^L), C = ½‖a - t‖²
    for k in range(len(Ws) - 2, -1, -1):
        deltas.insert(0, (Ws[k + 1].T @ deltas[0]) * acts[k + 1] * (1 - acts[k + 1]))
    model = nn.MLP.from_weights(Ws, bs, activation="sigmoid")
    loss = nn.half_sse(model(x.tolist()), t)
    loss.backward()
    node = {v.label: v for v in topological_order(loss) if v.label}
    gaps = []
    for k, delta in enumerate(deltas):
        dz = np.array([node[f"z{k + 1}[{j}]"].grad for j in range(len(delta))])
        outer = np.outer(delta, acts[k])  # ∂C/∂w^l_jk = δ^l_j a^(l-1)_k
        gaps.append(max(gap(dz, delta), gap(model.weight_grads()[k], outer)))
    w3 = Ws[2]
    try:
        w3 @ deltas[2]  # line 654 as written for δ^2: w^3 δ^3, no transpose
        refusal = "numpy multiplies it"
    except ValueError:
        refusal = f"w^3 is {w3.shape[0]} x {w3.shape[1]} and δ^3 has {len(deltas[2])} entries"
    return gaps, refusal


def main() -> None:
    # the seed's forward pass and backward formulas, in its layout
    Z1 = WS1.T @ X + B1
    A1 = sig(Z1)
    A2 = sig(WS2.T @ A1 + B2)
    dZ2 = A2 - Y  # line 222
    inner = (dZ2.T @ WS2.T) * (A1 * (1 - A1)).T  # [(A2 - Y)ᵀ (W^(2))ᵀ] ⊙ σ'(Z1)ᵀ, m x n2
    dWs2 = A1 @ dZ2.T / M  # line 377
    db2 = np.sum(dZ2) / M  # line 387
    dWs1 = X @ inner / M  # line 561 with 1/m and Z1
    db1 = inner.sum(axis=0) / M  # line 563 with 1/m and the sum over samples

    print(__doc__.split("\n\n")[0])
    print(f"n1, n2, m = {N1}, {N2}, {M}; Y = {Y.ravel().tolist()}\n")
    for from_logits in (False, True):
        model = engine(from_logits)
        dW1, dW2 = model.weight_grads()
        grad_b1, grad_b2 = model.bias_grads()
        kind = "binary_cross_entropy_with_logits" if from_logits else "binary_cross_entropy"
        print(f"J with nn.{kind}:")
        show(
            [
                ("∂J/∂W^(2) = 1/m A1 (A2 - Y)ᵀ", "n2 x 1", dWs2, dW2.T),
                ("∂J/∂b^(2) = 1/m np.sum(A2 - Y)", "1 x 1", db2, grad_b2),
                ("∂J/∂W^(1) = 1/m X {[(A2-Y)ᵀ W^(2)ᵀ] ⊙ σ'(Z1)ᵀ}", "n1 x n2", dWs1, dW1.T),
                ("∂J/∂b^(1) = 1/m Σ_i dz1_i", "n2 x 1", db1, grad_b1),
            ]
        )
    print("\n∂J/∂W^(2) =", np.array2string(dWs2.ravel(), precision=6), "(as a row)")

    print("\nThe general recursion δ^l = (W^(l+1))ᵀ δ^(l+1) ⊙ σ'(z^l) on a 3-5-4-2 network:")
    gaps, refusal = general_recursion()
    for k, g in enumerate(gaps, start=1):
        mark = "ok" if g < 1e-12 else "MISMATCH"
        print(f"  layer {k}: δ^{k} and ∂C/∂W^{k} = δ^{k} a^{k - 1}ᵀ, engine gap {g:.1e}  {mark}")

    print("\nSlips in the seed (line numbers of seed note 004):")
    no_mean = X @ inner
    print("SLIP  line 561: ∂J/∂W^(1) = X{[(A2-Y)ᵀ W^(2)ᵀ] ⊙ (σ'Z^(2))ᵀ} lacks the 1/m, so it is")
    print(f"      m = {M} times too big (ratio {np.mean(no_mean / dWs1):.1f}). And σ' belongs to")
    wrong = X @ ((dZ2.T @ WS2.T) * (A2 * (1 - A2)).T) / M  # numpy broadcasts the m x 1 silently
    print(f"      Z^(1): with σ'(Z^(2)) numpy broadcasts silently, off by {gap(wrong, dWs1):.3f}.")
    print("SLIP  line 563: ∂J/∂b^(1) = [(A2-Y)ᵀ W^(2)ᵀ] ⊙ (σ'Z^(2))ᵀ is an m x n2 matrix")
    print(f"      ({M} x {N2}), not the n2 x 1 gradient: 1/m, the sum over samples and Z^(1) are")
    print("      missing.")
    print("SLIP  line 654: δ^l = w^(l+1) δ^(l+1) ⊙ σ'(z^l) lacks the transpose; line 642's")
    print("      component form has it. Without it, on the 3-5-4-2 net above for l = 2,")
    print(f"      {refusal}: the product is undefined.")
    dz2 = dZ2[0, 0]
    w2 = WS2[:, 0]
    per_unit = w2 * A1[:, 0] * (1 - A1[:, 0]) * X[0, 0]
    summed = np.sum(per_unit)
    print("SLIP  line 421: ∂z^(2)/∂W^(1)_jk = Σ_j W^(2)_1j σ'(z^(1)_j) x_k sums over the free")
    print("      index j, but W^(1)_jk reaches z^(2) only through unit j. For sample 1, k = 1,")
    print(f"      the sum gives {summed:.6f} for every j; the right values, one per unit j, are")
    print(f"      {np.array2string(per_unit, precision=6)}.")
    print("SLIP  line 316: ∂j/∂W^(2) = a - y (column) lacks parentheses: (a - y) · column.")
    print(f"      For sample 1: (a - y) a1 = {np.array2string(dz2 * A1[:, 0], precision=4)},")
    print(f"      a - (y a1) = {np.array2string(A2[0, 0] - Y[0, 0] * A1[:, 0], precision=4)}.")
    print("SLIP  lines 489-515: X (A2 - Y)ᵀ ⊙ σ' ⊙ W^(2) read left to right makes X (A2 - Y)ᵀ")
    print(f"      first, an n1 x 1 = {N1} x 1 matrix that cannot meet the m x n2 σ'; and no 1/m.")
    print("Notation slips, no number of their own:")
    notes = [
        "84, 114: z^(1)_1,i and a^(1)_1,i use the whole W^(1) and one bias: column 1 of W^(1)",
        "86-91: sample i's column shows x^(1) in every entry: x^(i)",
        "167: b^(1) = (b^(2)_1) should be b^(2); 179: W^(1)_1,n2 should be W^(2)_1,n2",
        "194: a^(2) = sigmoid((W^(2))ᵀ a^(1)) has lost + b^(2)",
        "230: dW^(2) = ∂j/∂W^(1)_1,j should be ∂W^(2)_1,j",
        "425: the left side lacks ∂j/∂a2 · ∂a2/∂z2, the right side has them",
        "445, 449: left sides ∂W^(1)_j,k for k = 3, 4 should be ∂W^(1)_1,3 and ∂W^(1)_1,4",
        "459, 463: ∂J/∂b^(1)_j written with ∂W^(1)_j,k inside, and ∂J/∂W^(1) for ∂J/∂b^(1)",
        "540: σ'Z^(2) in the heading, while the matrix shown is σ'(Z^(1))ᵀ",
        "589-590: m + 1 activations a^(0)..a^(m), and J without brackets round its summand",
        "634: ∂z^(l+1)_k/z^l_j lacks a ∂, and reuses j as the summation index",
    ]
    for note in notes:
        print(f"  line {note}")


if __name__ == "__main__":
    help_only(__file__, __doc__)
    main()
