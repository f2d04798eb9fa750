"""worked_example and its checkers, against the notes' own formulas evaluated here with numpy.

The expected numbers come from the delta recursion written in this file (δ_L = ∂E/∂a_L ⊙ f'(z_L),
δ_l = W_{l+1}ᵀ δ_{l+1} ⊙ f'(z_l), ∂E/∂W = δ aᵀ) on random networks, and from note 000's figures
typed in from the note.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import nn
import viz

TOL = {"rtol": 1e-9, "atol": 1e-12}
F = {
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z, a: a * (1 - a)),
    "tanh": (np.tanh, lambda z, a: 1 - a * a),
    "relu": (lambda z: np.maximum(z, 0), lambda z, a: (z > 0).astype(float)),
    "linear": (lambda z: z, lambda z, a: np.ones_like(z)),
}


def notes_formulas(Ws, bs, acts, X, T, loss, lr=None):
    """The notes' forward pass and delta recursion, samples as columns, means over m."""
    m = X.shape[1]
    zs, As = [None], [X]
    for W, b, act in zip(Ws, bs, acts, strict=True):
        zs.append(W @ As[-1] + b[:, None])
        As.append(F[act][0](zs[-1]))
    a, n_out = As[-1], As[-1].shape[0]
    if loss == "half_sse":
        E, dA = 0.5 * np.sum((a - T) ** 2) / m, (a - T) / m
    elif loss == "mse":
        E, dA = np.sum((a - T) ** 2) / (n_out * m), 2 * (a - T) / (n_out * m)
    elif loss == "bce":
        E = -np.sum(T * np.log(a) + (1 - T) * np.log(1 - a)) / (n_out * m)
        dA = (a - T) / (a * (1 - a)) / (n_out * m)
    else:
        p = np.exp(a) / np.exp(a).sum(axis=0)
        E = np.sum(np.log(np.exp(a).sum(axis=0)) - (T * a).sum(axis=0)) / m
        dA = (p - T) / m
    out = {"E": E}
    L = len(Ws)
    for li in range(L, 0, -1):
        if li < L:
            dA = Ws[li].T @ out[f"delta{li + 1}"]
        fp = F[acts[li - 1]][1](zs[li], As[li])
        out[f"da{li}"], out[f"fprime{li}"] = dA, fp
        out[f"delta{li}"] = dA * fp
        out[f"dW{li}"] = out[f"delta{li}"] @ As[li - 1].T
        out[f"db{li}"] = out[f"delta{li}"].sum(axis=1)
        if lr is not None:
            out[f"W{li}_new"] = Ws[li - 1] - lr * out[f"dW{li}"]
            out[f"b{li}_new"] = bs[li - 1] - lr * out[f"db{li}"]
    for li in range(L + 1):
        out[f"a{li}"] = As[li]
        if li:
            out[f"z{li}"] = zs[li]
    return out


def random_case(seed, sizes, hidden, output, loss, m):
    rng = np.random.default_rng(seed)
    Ws = [rng.uniform(-1, 1, (o, i)) for i, o in itertools.pairwise(sizes)]
    bs = [rng.uniform(-1, 1, o) for o in sizes[1:]]
    X = rng.uniform(-2, 2, (m, sizes[0]))
    if loss == "bce":
        T = rng.uniform(0, 1, (m, sizes[-1]))
    elif loss == "softmax_ce":
        T = rng.dirichlet(np.ones(sizes[-1]), m)
    else:
        T = rng.uniform(-1, 1, (m, sizes[-1]))
    model = nn.MLP.from_weights(Ws, bs, activation=hidden, output_activation=output)
    return model, Ws, bs, X, T


CASES = [
    ((1, 2, 2), "sigmoid", "sigmoid", "half_sse", 1),
    ((3, 4, 2), "tanh", "linear", "mse", 1),
    ((2, 5, 3, 1), "relu", "sigmoid", "bce", 1),
    ((4, 3, 1), "sigmoid", "sigmoid", "bce", 6),  # note 004's n1-n2-1 network over m samples
    ((3, 4, 3), "tanh", "linear", "softmax_ce", 1),
    ((2, 3, 4, 3), "relu", "linear", "softmax_ce", 5),
    ((2, 3, 2), "sigmoid", "tanh", "half_sse", 4),
    ((3, 2, 2, 2, 2), "tanh", "sigmoid", "mse", 3),
]


@pytest.mark.parametrize(("sizes", "hidden", "output", "loss", "m"), CASES)
def test_every_number_matches_the_notes_delta_recursion(sizes, hidden, output, loss, m):
    model, Ws, bs, X, T = random_case(len(sizes) * 10 + m, sizes, hidden, output, loss, m)
    single = m == 1
    x, t = (X[0], T[0]) if single else (X, T)
    ex = viz.worked_example(model, x, t, loss=loss, lr=0.1)
    acts = [hidden] * (len(sizes) - 2) + [output]
    want = notes_formulas(Ws, bs, acts, X.T, T.T, loss, lr=0.1)
    assert set(ex.numbers) == set(want)
    for key, value in want.items():
        got = ex.numbers[key]
        if single and value.ndim == 2 and key[0] in "azdf" and not key.startswith("dW"):
            value = value[:, 0]  # one input: vectors are 1-D
        assert got.shape == np.shape(value), key
        np.testing.assert_allclose(got, value, **TOL, err_msg=key)


def test_a_batch_puts_samples_in_columns_and_a_single_input_gives_vectors():
    model, _, _, X, T = random_case(1, (3, 4, 2), "sigmoid", "sigmoid", "half_sse", 5)
    batch = viz.worked_example(model, X, T)
    assert batch.numbers["a0"].shape == (3, 5)
    assert batch.numbers["delta1"].shape == (4, 5)
    assert batch.numbers["dW1"].shape == (4, 3) and batch.numbers["db1"].shape == (4,)
    one = viz.worked_example(model, X[0], T[0])
    assert one.numbers["a0"].shape == (3,) and one.numbers["z2"].shape == (2,)
    assert one.numbers["E"].shape == ()


def test_the_model_is_never_changed_nor_its_grads():
    model, _, _, X, T = random_case(2, (2, 3, 1), "tanh", "sigmoid", "bce", 4)
    T = (T > 0.5).astype(float)[:, 0]
    for p, g in zip(model.parameters(), np.linspace(-1, 1, 13), strict=True):
        p.grad = float(g)
    before = [(p.data, p.grad) for p in model.parameters()]
    ex = viz.worked_example(model, X, T, loss="bce", lr=0.5)
    ex.check({"E": 0.1, "dW1": ex.numbers["dW1"].round(2).tolist()})
    str(ex), ex.markdown()
    assert [(p.data, p.grad) for p in model.parameters()] == before


def test_note_000_document_has_the_notes_right_figures_and_fixes_its_slips():
    model = nn.MLP.from_weights(
        [[[0.2], [-0.3]], [[0.4, -0.5], [0.3, 0.8]]], [[0.1, 0.1], [0.2, -0.1]], "sigmoid"
    )
    ex = viz.worked_example(model, [1.0], [1.0, 0.0], lang="zh")
    text = str(ex)
    for heading in ("前向传播", "反向传播", "损失函数", "第一层", "第二层", "输出层梯度"):
        assert heading in text
    assert "= 0.2847" in text  # the note's 0.2846 came from two miscalculated squares
    assert "0.2016 + 0.3678" in text  # the note wrote 0.2012 + 0.3680
    # the note's right figures, at its own four decimals
    assert np.round(ex.numbers["a1"], 4).tolist() == [0.5744, 0.4502]
    assert np.round(ex.numbers["a2"], 4).tolist() == [0.5510, 0.6065]
    md = ex.markdown()
    assert md.count(r"\begin{bmatrix}") > 20 and "## 2. 反向传播" in md


def printed_steps_follow(ex):
    """Count steps whose printed result is not the rule applied to the printed inputs."""
    from viz.worked import _as_numbers, _rule, _within

    shown = {k: np.array(v, dtype=float) for k, v in ex._given_text.items()}
    misses = 0
    for key in ex.order[1:]:
        shown[key] = _as_numbers(ex.printed(key))[0]
    for key in ex.order[1:]:
        again = _rule(key, shown, ex._setup)
        misses += int((~_within(shown[key], _as_numbers(ex.printed(key))[1], again)).sum())
    return misses


def test_printed_digits_are_chosen_so_steps_follow_from_printed_numbers():
    model = nn.MLP.from_weights(
        [[[0.2], [-0.3]], [[0.4, -0.5], [0.3, 0.8]]], [[0.1, 0.1], [0.2, -0.1]], "sigmoid"
    )
    ex = viz.worked_example(model, [1.0], [1.0, 0.0], lr=0.5)
    assert ex.digits["E"] == 4 and ex.digits["dW2"] == 4  # the notes' four decimals
    assert printed_steps_follow(ex) == 0
    # at a flat four decimals, δ2[1] a1[1] = 0.1447 × 0.4502 = 0.0651, not the right 0.0652
    assert max(ex.digits.values()) > 4


def right_claims(ex, keys):
    return {k: np.round(ex.numbers[k], 6).tolist() for k in keys}


def test_check_right_claims_give_no_slips():
    model, _, _, X, T = random_case(3, (2, 3, 2), "sigmoid", "sigmoid", "half_sse", 3)
    ex = viz.worked_example(model, X, T, lr=0.1)
    report = ex.check(right_claims(ex, ex.numbers))
    assert report.slips == [] and report.ok
    assert report.checked == sum(v.size for v in ex.numbers.values())
    assert "right at the precision" in str(report)


def test_check_one_slip_is_new_and_what_follows_from_it_is_carried():
    model = nn.MLP.from_weights(
        [[[0.2], [-0.3]], [[0.4, -0.5], [0.3, 0.8]]], [[0.1, 0.1], [0.2, -0.1]], "sigmoid"
    )
    ex = viz.worked_example(model, [1.0], [1.0, 0.0])
    claims = {k: [f"{x:.4f}" for x in ex.numbers[k]] for k in ("a1", "z2", "a2")}
    claims["z2"][0] = "0.3047"  # a slip in the sum: 0.2047 + 0.1
    a2 = 1 / (1 + np.exp(-0.3047))  # the learner carries on correctly from there
    claims["a2"][0] = f"{a2:.4f}"
    report = ex.check(claims)
    assert [(s.key, s.index, s.carried) for s in report.slips] == [
        ("z2", (0,), False),
        ("a2", (0,), True),
    ]
    first = report.slips[0]
    assert first.claimed == "0.3047" and first.right == pytest.approx(0.204694, abs=1e-6)
    assert "z2[0] = Σ_k W2[0,k] a1[k] + b2[0] = 0.4 × 0.5744 + (-0.5) × 0.4502 + 0.2" in str(report)
    assert "1 new, 1 carried" in str(report)


# note 000's figures as the note prints them (tests/nn/test_seeds.py established which are slips)
NOTE_000 = {
    "a1": ["0.5744", "0.4502"],
    "z2": ["0.2047", "0.4325"],
    "a2": ["0.5510", "0.6065"],
    "E": "0.2846",
    "da2": ["-0.4490", "0.6065"],
    "fprime2": ["0.2474", "0.2386"],
    "delta2": ["-0.1110", "0.1447"],
    "dW2": [["-0.0637", "-0.0500"], ["0.0831", "0.0651"]],
    "db2": ["-0.1110", "0.1447"],
    "da1": ["-0.0010", "0.1713"],
    "fprime1": ["0.2445", "0.2475"],
    "delta1": ["-0.00024", "0.0424"],
    "dW1": [["-0.0024"], ["0.0424"]],
    "db1": ["-0.00024", "0.0424"],
}


def test_check_finds_note_000s_slips_and_tells_new_from_carried():
    model = nn.MLP.from_weights(
        [[[0.2], [-0.3]], [[0.4, -0.5], [0.3, 0.8]]], [[0.1, 0.1], [0.2, -0.1]], "sigmoid"
    )
    report = viz.worked_example(model, [1.0], [1.0, 0.0]).check(NOTE_000)
    found = [(s.key, s.index, s.carried) for s in report.slips]
    assert found == [
        ("E", (), False),  # ½(0.2012 + 0.3680): two wrong squares; from its a2, 0.2847
        ("fprime2", (1,), False),  # 0.6065 × 0.3935 = 0.238658 truncated
        ("delta2", (0,), False),  # -0.4490 × 0.2474 = -0.111083 truncated
        ("dW2", (0, 0), False),  # -0.1110 × 0.5744 = -0.063758 truncated
        ("dW2", (1, 1), True),  # 0.1447 × 0.4502 of rounded factors: follows from them
        ("db2", (0,), True),  # the truncated δ2[0] copied
        ("delta1", (0,), True),  # -0.0010 × 0.2445 from a 4-decimal W2ᵀδ2
        ("dW1", (0, 0), False),  # -0.0024: a dropped zero
        ("db1", (0,), True),  # the δ1[0] above, copied
    ]
    loss = report.slips[0]
    assert loss.claimed == "0.2846" and round(loss.right, 4) == 0.2847
    assert loss.recomputed == pytest.approx(0.5 * ((0.5510 - 1) ** 2 + 0.6065**2))
    assert "The first new slip is E: written 0.2846, right 0.2847" in str(report)


def test_check_precision_rule_reads_trailing_zeros_and_float_reprs():
    model = nn.MLP.from_weights([[[0.5]]], [[0.0]], "linear")
    ex = viz.worked_example(model, [1.0], [0.0])  # a1 = 0.5, E = 0.125, δ = 0.5
    assert not ex.check({"a1": ["0.5"], "E": 0.125}).slips
    assert not ex.check({"E": "0.12"}).slips  # 0.125 rounds either way: within half a unit
    assert [s.key for s in ex.check({"E": "0.1200"}).slips] == ["E"]
    assert [s.key for s in ex.check({"E": 0.13}).slips] == []  # repr 0.13: 2 decimals
    assert [s.key for s in ex.check({"E": 0.1251}).slips] == ["E"]
    assert not ex.check({"a1": [None]}).slips


def test_check_refuses_unknown_keys_and_wrong_shapes():
    model = nn.MLP.from_weights([[[0.5]]], [[0.0]], "linear")
    ex = viz.worked_example(model, [1.0], [0.0])
    with pytest.raises(ValueError, match=r"claims keys must be among a0, z1"):
        ex.check({"W1": [[0.5]]})
    with pytest.raises(ValueError, match=r"claims\['dW1'\] must have shape \(1, 1\)"):
        ex.check({"dW1": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"must be a number"):
        ex.check({"E": "abc"})


def test_worked_example_refuses_bad_arguments_with_clear_messages():
    model = nn.MLP.from_weights([[[0.5, 0.1]], [[1.0]]], [[0.0], [0.0]], "sigmoid")
    with pytest.raises(TypeError, match=r"model must be an nn\.MLP"):
        viz.worked_example(object(), [1.0, 2.0], [0.5])
    with pytest.raises(ValueError, match=r"loss must be one of 'half_sse', 'mse'"):
        viz.worked_example(model, [1.0, 2.0], [0.5], loss="hinge")
    with pytest.raises(ValueError, match=r"lang must be one of 'en', 'zh'"):
        viz.worked_example(model, [1.0, 2.0], [0.5], lang="fr")
    with pytest.raises(ValueError, match=r"x must have 2 entries \(got 3\)"):
        viz.worked_example(model, [1.0, 2.0, 3.0], [0.5])
    with pytest.raises(ValueError, match=r"lr must be a positive number"):
        viz.worked_example(model, [1.0, 2.0], [0.5], lr=-1)
    linear = nn.MLP.from_weights([[[3.0, 1.0]]], [[0.0]], "linear")
    with pytest.raises(ValueError, match=r"strictly between 0 and 1 .* use a sigmoid output"):
        viz.worked_example(linear, [1.0, 2.0], [1.0], loss="bce")


def test_text_and_markdown_write_every_step_of_the_recursion():
    model, _, _, X, T = random_case(5, (2, 3, 3, 2), "relu", "sigmoid", "half_sse", 2)
    ex = viz.worked_example(model, X, T, lr=0.05)
    text = str(ex)
    for piece in ("Z^[3] = W^[3] A^[2] + b^[3]", "(W^[3])ᵀ δ^[3]", "∂E/∂W^[1] = δ^[1] (A^[0])ᵀ"):
        assert piece in text
    assert "1 if Z^[1] > 0 else 0" in text  # relu's slope in explain's wording
    assert "W^[2] ← W^[2] - η ∂E/∂W^[2]" in text
    md = ex._repr_markdown_()
    assert r"\delta^{[3]}" in md and r"\odot" in md and r"\leftarrow" in md


def test_check_values_finds_a_slip_by_label_and_carries_what_follows():
    model = nn.MLP.from_weights(
        [[[0.2], [-0.3]], [[0.4, -0.5], [0.3, 0.8]]], [[0.1, 0.1], [0.2, -0.1]], "sigmoid"
    )
    E = nn.half_sse(model([1.0]), [1.0, 0.0])
    grads_before = [p.grad for p in model.parameters()]
    right = viz.check_values(E, {"a1[0]": {"data": "0.5744", "grad": "-0.0010"}, "a2[1]": 0.6065})
    assert right.ok and right.checked == 3
    # a wrong δ2[0] = dE/dz2[0], then the grad of a1[0] recomputed from it: carried
    own = 0.4 * -0.1000 + 0.3 * 0.14474  # W2ᵀ δ2 with the learner's δ2[0]
    report = viz.check_values(
        E, {"z2[0]": {"grad": "-0.1000"}, "z2[1]": {"grad": "0.14474"}, "a1[0]": {"grad": own}}
    )
    found = [(s.key, s.carried) for s in report.slips]  # in the graph's computation order
    assert found == [("a1[0].grad", True), ("z2[0].grad", False)]
    assert [p.grad for p in model.parameters()] == grads_before
    with pytest.raises(ValueError, match=r"no node labelled 'nope'"):
        viz.check_values(E, {"nope": 1.0})


def test_a_wrong_input_claim_is_a_new_slip_not_a_crash():
    model = nn.MLP.from_weights(
        [[[0.2], [-0.3]], [[0.4, -0.5], [0.3, 0.8]]], [[0.1, 0.1], [0.2, -0.1]]
    )
    report = viz.worked_example(model, [1.0], [1.0, 0.0]).check({"a0": ["2.0"]})
    [slip] = report.slips
    assert (slip.key, slip.index, slip.claimed, slip.right, slip.carried) == (
        "a0",
        (0,),
        "2.0",
        1.0,
        False,
    )
    assert "is the input" in str(report)
