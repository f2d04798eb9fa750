"""Neuron, Layer and MLP: call forms, labels, initialisation, graph shape, numpy views."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nn
from autodiff import Value, topological_order, trace

NUMPY_ACT = {
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "linear": lambda z: z,
}


def numpy_forward(weights, biases, x, activation, output_activation):
    a = np.asarray(x, dtype=float)
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        act = output_activation if i == len(weights) - 1 else activation
        a = NUMPY_ACT[act](np.asarray(w) @ a + np.asarray(b))
    return a


def test_mlp_micrograd_call_forms_give_relu_hidden_linear_output():
    model = nn.MLP(2, [16, 16, 1], seed=0)
    out = model([0.5, -1.0])
    assert isinstance(out, Value)
    assert [layer.activation for layer in model.layers] == ["relu", "relu", "linear"]
    assert len(model.parameters()) == (2 * 16 + 16) + (16 * 16 + 16) + (16 + 1)
    assert all(isinstance(p, Value) for p in model.parameters())


def test_mlp_with_several_outputs_returns_a_list_of_the_matrix_formulas_numbers():
    model = nn.MLP(3, [4, 3], seed=1)
    out = model([1.0, 2.0, 3.0])
    assert isinstance(out, list) and all(isinstance(v, Value) for v in out)
    want = numpy_forward(model.weights(), model.biases(), [1.0, 2.0, 3.0], "relu", "linear")
    np.testing.assert_allclose([v.data for v in out], want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "linear"])
def test_mlp_forward_matches_numpy_matrix_forward(activation):
    model = nn.MLP(3, [5, 4, 2], activation=activation, output_activation="tanh", seed=3)
    x = [0.3, -1.2, 2.0]
    got = [v.data for v in model(x)]
    want = numpy_forward(model.weights(), model.biases(), x, activation, "tanh")
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_inputs_may_be_values_and_their_gradient_is_the_chain_rules():
    model = nn.MLP(2, [3, 1], activation="tanh", seed=2)
    x = [Value(0.4), Value(-0.7)]
    model(x).backward()
    (W1, W2), (b1, _) = model.weights(), model.biases()
    a1 = np.tanh(W1 @ [0.4, -0.7] + b1)
    # d out / dx = W1ᵀ (tanh'(z1) ⊙ W2ᵀ), the delta rule with a linear output
    want = W1.T @ ((1 - a1**2) * W2[0])
    np.testing.assert_allclose([v.grad for v in x], want, rtol=1e-12)
    assert np.abs(want).min() > 1e-3  # a real gradient, so the comparison has teeth


def test_layer_returns_one_value_for_one_unit_as_micrograd_does():
    assert isinstance(nn.Layer(2, 1, seed=0)([1.0, 2.0]), Value)
    assert len(nn.Layer(2, 3, seed=0)([1.0, 2.0])) == 3


def test_neuron_computes_activation_of_weighted_sum():
    neuron = nn.Neuron.from_weights([0.5, -2.0], 0.25, activation="tanh")
    assert neuron([1.0, 3.0]).data == pytest.approx(math.tanh(0.25 + 0.5 - 6.0), abs=1e-15)
    assert [p.label for p in neuron.parameters()] == ["w[0]", "w[1]", "b"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.Neuron(2, activation="softmax"),
        lambda: nn.Layer(2, 2, activation="Relu"),
        lambda: nn.MLP(2, [2, 1], activation="gelu"),
        lambda: nn.MLP(2, [2, 1], output_activation="softmax"),
        lambda: nn.MLP.from_weights([[[1.0]]], [[0.0]], activation="elu"),
    ],
)
def test_unknown_activation_is_a_value_error_listing_the_valid_ones(make):
    with pytest.raises(ValueError) as error:
        make()
    for name in ("'relu'", "'tanh'", "'sigmoid'", "'linear'"):
        assert name in str(error.value)


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda: nn.MLP(0, [2]), "nin must be a positive int (got 0)"),
        (lambda: nn.MLP(2, []), "nouts must be a non-empty list"),
        (lambda: nn.MLP(2, [2, 1.5]), "nouts[1] must be a positive int (got 1.5)"),
        (lambda: nn.Layer(2, True), "nout must be a positive int (got True)"),
    ],
)
def test_bad_sizes_say_what_was_expected_and_what_came(make, fragment):
    with pytest.raises(ValueError, match=None) as error:
        make()
    assert fragment in str(error.value)


def test_wrong_number_of_inputs_names_both_counts():
    model = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match=r"expected 2 inputs \(got 3\)"):
        model([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="sequence of 2 numbers"):
        model(1.0)


def test_a_neuron_with_the_wrong_number_of_inputs_names_itself_and_both_counts():
    neuron = nn.Neuron.from_weights([1.0, 2.0, 3.0], activation="linear")
    with pytest.raises(ValueError, match=r"^Neuron: expected 3 inputs \(got 2\)$"):
        neuron([1.0, 2.0])
    with pytest.raises(TypeError, match=r"^Neuron: x must be a sequence of 3 numbers"):
        neuron(1.0)
    assert neuron([1.0, 0.0, Value(2.0)]).data == 7.0


def test_parameters_are_labelled_where_they_sit():
    model = nn.MLP(2, [3, 2], seed=0)
    layer1, layer2 = model.layers
    assert layer1.neurons[1].w[0].label == "W1[1,0]"
    assert layer1.neurons[2].b.label == "b1[2]"
    assert layer2.neurons[0].w[2].label == "W2[0,2]"
    assert layer2.neurons[0].b.label == "b2[0]"
    assert [name for name, _ in model.named_parameters()] == [p.label for p in model.parameters()]


def test_intermediate_results_carry_the_seeds_names():
    model = nn.MLP(1, [2, 2], activation="sigmoid", output_activation="linear", seed=0)
    out = model([1.0])
    assert [v.label for v in out] == ["z2[0]", "z2[1]"]
    a1 = out[0].parents[2]  # linear's inputs: W2[0,0], W2[0,1], a1[0], a1[1], b2[0]
    assert a1.label == "a1[0]"
    assert a1.parents[0].label == "z1[0]"


def test_a_weighted_sum_is_one_linear_node_so_each_layer_adds_two_levels():
    model = nn.MLP(2, [16, 16, 1], seed=0)
    out = model([0.1, 0.2])
    assert out.op.name == "linear"
    assert len(out.parents) == 2 * 16 + 1
    depth: dict[Value, int] = {}
    for node in topological_order(out):
        depth[node] = 1 + max((depth[p] for p in node.parents), default=-1)
    assert depth[out] == 5  # linear, relu, linear, relu, linear above the leaves
    # 33 linear nodes + 32 relu + 337 parameters + 2 inputs: no chain of binary additions
    assert len(depth) == 33 + 32 + 337 + 2


def test_input_numbers_are_wrapped_once_per_forward_not_once_per_neuron():
    model = nn.MLP(2, [8, 1], seed=0)
    out = model([0.1, 0.2])
    leaves = {n for n in topological_order(out) if not n.parents} - set(model.parameters())
    assert len(leaves) == 2


def test_initialisation_is_reproducible_from_an_int_or_a_generator():
    a = nn.MLP(2, [4, 3, 1], seed=7).weights()
    b = nn.MLP(2, [4, 3, 1], seed=7).weights()
    c = nn.MLP(2, [4, 3, 1], seed=np.random.default_rng(7)).weights()
    d = nn.MLP(2, [4, 3, 1], seed=8).weights()
    for x, y, z in zip(a, b, c, strict=True):
        np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(x, z)
    assert not np.array_equal(a[0], d[0])


def test_layers_of_one_model_draw_different_weights():
    w = nn.MLP(4, [4, 4, 4], seed=0).weights()
    assert not np.array_equal(w[1], w[2])


def test_biases_start_at_zero():
    assert all(np.all(b == 0.0) for b in nn.MLP(3, [5, 2], seed=0).biases())


@pytest.mark.parametrize(
    ("activation", "variance"),
    [
        ("relu", 2.0 / 400),  # He: keeps E[z²] across relu layers
        ("tanh", 2.0 / (400 + 300)),  # Glorot
        ("sigmoid", 2.0 / (400 + 300)),
        ("linear", 2.0 / (400 + 300)),
    ],
)
def test_initial_weight_variance_follows_he_or_glorot(activation, variance):
    w = nn.init_weights(400, 300, activation, seed=0)
    assert w.shape == (300, 400)
    assert np.abs(w).max() <= math.sqrt(3 * variance)
    assert w.var() == pytest.approx(variance, rel=0.02)


def test_from_weights_keeps_the_given_numbers_and_shapes():
    weights = [np.array([[0.2], [-0.3]]), [[0.4, -0.5], [0.3, 0.8]]]
    biases = [[0.1, 0.1], np.array([0.2, -0.1])]
    model = nn.MLP.from_weights(weights, biases)
    assert model.nin == 1 and model.nouts == (2, 2)
    assert model.activation == model.output_activation == "sigmoid"
    for got, want in zip(model.weights(), weights, strict=True):
        np.testing.assert_array_equal(got, np.asarray(want))
    for got, want in zip(model.biases(), biases, strict=True):
        np.testing.assert_array_equal(got, np.asarray(want))


@pytest.mark.parametrize(
    ("weights", "biases", "fragment"),
    [
        ([[[1.0, 2.0]], [[1.0, 2.0]]], [[0.0], [0.0]], "weights[1][0] must have 1 entries (got 2)"),
        ([[[1.0, 2.0]]], [[0.0, 0.0]], "biases[0] must have 1 entries (got 2)"),
        ([[[1.0, 2.0], [3.0]]], [[0.0, 0.0]], "weights[0][1] must have 2 entries (got 1)"),
        ([[[1.0, "x"]]], [[0.0]], "weights[0][0][1] must be a number (got str 'x')"),
        ([[[1.0, float("nan")]]], [[0.0]], "weights[0][0][1] must be a finite number"),
        ([[[True]]], [[0.0]], "must be a number (got bool True)"),
        ([np.ones(3)], [[0.0]], "must be a 2-D nout x nin array (got shape (3,))"),
        ([[[1.0]]], [], "one entry per layer"),
    ],
)
def test_from_weights_rejects_malformed_parameters(weights, biases, fragment):
    with pytest.raises(ValueError) as error:
        nn.MLP.from_weights(weights, biases)
    assert fragment in str(error.value)


def test_from_weights_takes_rows_given_as_1d_arrays():
    rows = [np.array([1.0, 2.0]), np.array([3.0, 4.0])]
    layer = nn.Layer.from_weights(rows, activation="linear")
    np.testing.assert_array_equal(layer.weights(), [[1.0, 2.0], [3.0, 4.0]])
    model = nn.MLP.from_weights([rows, (np.array([0.5, -0.5]),)], [np.zeros(2), [1.0]])
    assert model.nouts == (2, 1)
    np.testing.assert_array_equal(model.weights()[1], [[0.5, -0.5]])


def test_mlp_from_weights_takes_one_3d_array_of_equal_sized_layers():
    weights = np.arange(12.0).reshape(3, 2, 2) / 10
    biases = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    model = nn.MLP.from_weights(weights, biases, activation="tanh")
    assert model.nin == 2 and model.nouts == (2, 2, 2)
    for got, want in zip(model.weights(), weights, strict=True):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(model.biases(), biases, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    ("weights", "biases", "fragment"),
    [
        (np.ones((2, 2)), [[0.0, 0.0], [0.0, 0.0]], "weights as one array must be 3-D"),
        ([[[1.0]]], np.zeros(1), "biases as one array must be 2-D"),
        ([[np.ones((1, 2))]], [[0.0]], "weights[0][0] must be a vector (got an array of shape"),
        ("W", [[0.0]], "one entry per layer (got str and list)"),
    ],
)
def test_from_weights_names_a_wrongly_shaped_array(weights, biases, fragment):
    with pytest.raises(ValueError) as error:
        nn.MLP.from_weights(weights, biases)
    assert fragment in str(error.value)


def test_grads_come_out_as_nout_by_nin_arrays_matching_each_value():
    model = nn.MLP(3, [4, 2], activation="tanh", seed=5)
    out = model([0.5, -0.2, 0.9])
    (out[0] * out[1]).backward()
    for layer, dw, db in zip(model.layers, model.weight_grads(), model.bias_grads(), strict=True):
        assert dw.shape == (layer.nout, layer.nin)
        assert db.shape == (layer.nout,)
        for j, neuron in enumerate(layer.neurons):
            assert db[j] == neuron.b.grad
            assert list(dw[j]) == [w.grad for w in neuron.w]


def test_zero_grad_resets_every_parameter():
    model = nn.MLP(2, [3, 1], seed=0)
    model([1.0, 1.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_parameters_returns_a_fresh_list_so_callers_cannot_corrupt_the_model():
    model = nn.MLP(2, [3, 1], seed=0)
    params = model.parameters()
    params.clear()
    assert len(model.parameters()) == 13


def test_a_user_module_overriding_parameters_gets_zero_grad_and_a_state_dict():
    class Pair(nn.Module):
        def __init__(self):
            self.a, self.b = Value(1.0), Value(2.0)

        def parameters(self):
            return [self.a, self.b]

    pair = Pair()
    pair.a.grad = 3.0
    pair.zero_grad()
    assert pair.a.grad == 0.0
    assert pair.state_dict() == {"0": 1.0, "1": 2.0}


def test_layer_from_weights_takes_a_matrix_and_defaults_biases_to_zero():
    layer = nn.Layer.from_weights([[1.0, -1.0], [0.5, 2.0], [0.0, 1.0]], activation="linear")
    assert (layer.nin, layer.nout) == (2, 3)
    np.testing.assert_array_equal(layer.biases(), np.zeros(3))
    assert [v.data for v in layer([2.0, 1.0])] == [1.0, 3.0, 1.0]
    assert layer.neurons[2].w[1].label == "W[2,1]"
    with pytest.raises(ValueError, match=r"biases must have 3 entries \(got 2\)"):
        nn.Layer.from_weights([[1.0], [2.0], [3.0]], [0.0, 0.0])


def test_an_mlp_replays_on_the_numpy_tape_with_the_eager_numbers_and_grads():
    model = nn.MLP(2, [8, 8, 1], activation="tanh", seed=0)
    X, _ = nn.make_moons(16, noise=0.1, seed=1)
    tape = trace(lambda a, b: model([a, b]), 2)
    np.testing.assert_allclose(tape.forward(X), [model(x).data for x in X.tolist()], rtol=1e-12)
    model.zero_grad()
    tape.backward(reduction="sum")
    batched = [p.grad for p in model.parameters()]
    model.zero_grad()
    for x in X.tolist():
        model(x).backward()
    np.testing.assert_allclose(batched, [p.grad for p in model.parameters()], rtol=1e-10)


def test_viz_draws_a_neurons_weighted_sum_as_one_op_node_with_the_labels():
    viz = pytest.importorskip("viz")
    model = nn.MLP(2, [3, 1], activation="tanh", seed=0)
    out = model([0.5, -0.5])
    source = viz.draw_graph(out).source
    symbol = out.op.symbol  # the linear op's symbol, Σw·x+b
    assert source.count(f'label="{symbol}"') == 3 + 1
    for label in ("W1[1,0]", "b2[0]", "z1[2]", "a1[0]", "x[1]"):
        assert label in source


# --- one way to build, one place that lists parameters -------------------------------------


def test_each_module_can_be_built_with_given_numbers_through_its_constructor():
    neuron = nn.Neuron(2, "tanh", weights=[0.5, -2.0], bias=0.25)
    assert neuron([1.0, 3.0]).data == pytest.approx(math.tanh(0.25 + 0.5 - 6.0), abs=1e-15)
    layer = nn.Layer(
        2, 3, "linear", weights=[[1.0, -1.0], [0.5, 2.0], [0.0, 1.0]], biases=[1, 2, 3]
    )
    assert [v.data for v in layer([2.0, 1.0])] == [1.0 + 1, 3.0 + 2, 1.0 + 3]
    model = nn.MLP(
        1, [2, 1], "linear", weights=[[[2.0], [3.0]], [[1.0, -1.0]]], biases=[[0, 0], [5]]
    )
    assert model([4.0]).data == 2.0 * 4 - 3.0 * 4 + 5


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda: nn.Neuron(2, weights=[1.0]), "Neuron: weights must have 2 entries (got 1)"),
        (lambda: nn.Layer(2, 2, weights=[[1.0, 2.0]]), "Layer: weights must have 2 rows (got 1)"),
        (lambda: nn.MLP(1, [2, 1], weights=[[[1.0], [1.0]]]), "MLP: weights must have one entry"),
        (lambda: nn.Neuron(1, bias=float("inf")), "Neuron: bias must be a finite number"),
    ],
)
def test_given_numbers_are_checked_against_the_sizes(make, fragment):
    with pytest.raises(ValueError) as error:
        make()
    assert fragment in str(error.value)


@pytest.mark.parametrize("seed", [-1, 2.5, "7", True])
@pytest.mark.parametrize("make", [nn.Neuron, lambda n, seed: nn.MLP(n, [1], seed=seed)])
def test_a_bad_seed_says_what_a_seed_is(make, seed):
    with pytest.raises(ValueError, match=r"seed must be an int >= 0, a numpy Generator or None"):
        make(2, seed=seed)


def test_parameters_follow_layers_replaced_after_construction():
    model, other = nn.MLP(2, [3, 1], seed=0), nn.MLP(2, [3, 1], seed=1)
    model.layers = other.layers
    assert model.parameters() == other.parameters()
    assert model.state_dict() == other.state_dict()


def test_a_user_module_with_children_gets_prefixed_names_and_each_shared_value_once():
    class Twin(nn.Module):
        def __init__(self):
            self.left, self.right = nn.MLP(1, [1], seed=0), nn.MLP(1, [1], seed=1)
            self.scale = Value(2.0)

        def children(self):
            return [("left", self.left), ("right", self.right), ("scale", self.scale)]

        def __call__(self, x):
            return self.scale * (self.left(x) + self.right(x))

    twin = Twin()
    assert [name for name, _ in twin.named_parameters()] == [
        "left.W1[0,0]",
        "left.b1[0]",
        "right.W1[0,0]",
        "right.b1[0]",
        "scale",
    ]
    twin.right.layers[0].neurons[0].b = twin.scale  # one Value in two places: one parameter
    assert twin.parameters().count(twin.scale) == 1
    assert len(twin.parameters()) == 4


def test_two_parameters_under_one_name_are_refused():
    class Clash(nn.Module):
        def children(self):
            return [("w", Value(1.0)), ("w", Value(2.0))]

    with pytest.raises(ValueError, match=r"names must be unique \(got 'w' for two parameters\)"):
        Clash().state_dict()


def test_a_child_that_is_neither_module_nor_value_is_named():
    class Odd(nn.Module):
        def children(self):
            return [("w", 1.0)]

    with pytest.raises(TypeError, match=r"Odd.children: each part must be a Module or a Value"):
        Odd().parameters()


def test_modules_have_no_private_builders_left():
    for cls in (nn.Neuron, nn.Layer, nn.MLP):
        assert not hasattr(cls, "_build")
