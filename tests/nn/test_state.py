"""state_dict, load_state_dict, nn.save and nn.load: round trips, and malformed input refused
before anything changes."""

from __future__ import annotations

import json
import os
import stat
import types

import numpy as np
import pytest

import nn


def snapshot(model):
    return [(p.label, p.data, p.grad) for p in model.parameters()]


def test_state_dict_is_a_plain_dict_of_floats_keyed_by_parameter_names():
    model = nn.MLP(2, [3, 1], seed=0)
    state = model.state_dict()
    assert list(state) == [p.label for p in model.parameters()]
    assert all(type(v) is float for v in state.values())
    assert json.loads(json.dumps(state)) == state
    assert "W1[2,1]" in state and "b2[0]" in state


def test_load_state_dict_copies_parameters_between_models():
    source, target = nn.MLP(2, [3, 1], seed=0), nn.MLP(2, [3, 1], seed=1)
    target.load_state_dict(source.state_dict())
    assert target([0.3, -0.4]).data == source([0.3, -0.4]).data


def test_load_state_dict_takes_any_mapping_of_names_to_numbers():
    source, target = nn.MLP(2, [3, 1], seed=0), nn.MLP(2, [3, 1], seed=1)
    target.load_state_dict(types.MappingProxyType(source.state_dict()))
    assert target.state_dict() == source.state_dict()


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda s: [1.0], "state must be a mapping of names to numbers (got list)"),
        (lambda s: {k: v for k, v in s.items() if k != "b2[0]"}, "missing b2[0]"),
        (lambda s: {**s, "W3[0,0]": 1.0}, "unexpected 'W3[0,0]'"),
        (lambda s: {**s, "b2[0]": float("nan")}, "b2[0] must be a finite number"),
        (lambda s: {**s, "b2[0]": "0.5"}, "b2[0] must be a number (got str '0.5')"),
        (lambda s: {**s, "b2[0]": True}, "b2[0] must be a number (got bool True)"),
        (lambda s: {**s, "b2[0]": [0.5]}, "b2[0] must be a number (got list [0.5])"),
    ],
)
def test_load_state_dict_refuses_bad_state_and_changes_nothing(mutate, fragment):
    model = nn.MLP(2, [3, 1], seed=0)
    state = {k: v + 1.0 for k, v in model.state_dict().items()}  # all new numbers...
    before = snapshot(model)
    with pytest.raises(ValueError) as error:
        model.load_state_dict(mutate(state))  # ...and the bad entry (b2[0]) comes last
    assert fragment in str(error.value)
    assert snapshot(model) == before


def test_save_then_load_rebuilds_the_same_model(tmp_path):
    model = nn.MLP(3, [4, 2], activation="tanh", output_activation="sigmoid", seed=4)
    path = tmp_path / "model.json"
    nn.save(model, path)
    loaded = nn.load(path)
    assert repr(loaded) == repr(model)
    assert loaded.state_dict() == model.state_dict()  # floats survive JSON exactly
    assert [p.label for p in loaded.parameters()] == [p.label for p in model.parameters()]
    x = [0.1, -0.2, 0.3]
    assert [v.data for v in loaded(x)] == [v.data for v in model(x)]


def test_the_file_is_versioned_json_with_the_architecture(tmp_path):
    model = nn.MLP.from_weights([[[0.2], [-0.3]], [[0.4, -0.5], [0.3, 0.8]]], [[0.1] * 2] * 2)
    nn.save(model, tmp_path / "m.json")
    text = (tmp_path / "m.json").read_text()
    doc = json.loads(text)
    assert doc["format"] == "nn.MLP" and doc["version"] == 1
    assert (doc["nin"], doc["nouts"]) == (1, [2, 2])
    assert (doc["activation"], doc["output_activation"]) == ("sigmoid", "sigmoid")
    assert doc["weights"] == [[[0.2], [-0.3]], [[0.4, -0.5], [0.3, 0.8]]]
    assert "[[0.4, -0.5], [0.3, 0.8]]" in text  # one layer's matrix per line, readable


def test_save_refuses_anything_but_an_mlp(tmp_path):
    with pytest.raises(TypeError, match=r"model must be an MLP \(got Layer\)"):
        nn.save(nn.Layer(2, 2, seed=0), tmp_path / "layer.json")


def good_document():
    return {
        "format": "nn.MLP",
        "version": 1,
        "nin": 2,
        "nouts": [2, 1],
        "activation": "tanh",
        "output_activation": "linear",
        "weights": [[[0.1, 0.2], [0.3, 0.4]], [[0.5, 0.6]]],
        "biases": [[0.0, 0.1], [0.2]],
    }


def edited(**changes):
    doc = good_document()
    doc.update(changes)
    return json.dumps(doc)


MALFORMED = {
    "not-json": ("{weights: }", "not valid JSON"),
    "not-a-dict": ("[1, 2, 3]", "must hold a JSON object (got list)"),
    "missing-key": (json.dumps({"format": "nn.MLP"}), "missing version, nin"),
    "wrong-format": (edited(format="torch"), "format must be 'nn.MLP' (got 'torch')"),
    "future-version": (edited(version=2), "version must be 1"),
    "bool-version": (edited(version=True), "version must be 1"),
    "bad-nin": (edited(nin=0), "nin must be a positive int (got 0)"),
    "bad-nouts": (edited(nouts="2,1"), "nouts must be a non-empty list"),
    "bad-activation": (edited(activation="gelu"), "activation must be one of"),
    "layers-count": (edited(biases=[[0.0, 0.1]]), "biases must be a list of 2 layers"),
    "wrong-shape": (
        edited(weights=[[[0.1, 0.2]], [[0.5, 0.6]]]),
        "weights[0] must have 2 rows (got 1)",
    ),
    "wrong-row": (
        edited(weights=[[[0.1, 0.2], [0.3, 0.4]], [[0.5]]]),
        "weights[1][0] must have 2 entries (got 1)",
    ),
    "string-number": (edited(biases=[[0.0, "0.1"], [0.2]]), "biases[0][1] must be a number"),
    "null-number": (edited(biases=[[0.0, None], [0.2]]), "must be a number (got NoneType None)"),
    "bool-number": (edited(biases=[[0.0, False], [0.2]]), "must be a number (got bool False)"),
    "nan": (edited().replace("0.6", "NaN"), "NaN is not a number JSON allows"),
    "infinity": (edited().replace("0.6", "-Infinity"), "-Infinity is not a number JSON allows"),
    "overflow": (edited().replace("0.6", "1e400"), "weights[1][0][1] must be a finite number"),
    "huge-int": (edited().replace("0.6", "9" * 400), "weights[1][0][1] must be a finite number"),
    "deep-nesting": ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "nested-number": (
        edited(weights=[[[0.1, [[[0.2]]]], [0.3, 0.4]], [[0.5, 0.6]]]),
        "weights[0][0][1] must be a number (got list",
    ),
}


@pytest.mark.parametrize(("text", "fragment"), MALFORMED.values(), ids=MALFORMED.keys())
def test_load_refuses_a_malformed_file_saying_what_is_wrong(tmp_path, text, fragment):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError) as error:
        nn.load(path)
    assert fragment in str(error.value)
    assert "bad.json" in str(error.value)


def test_the_good_document_of_the_malformed_cases_loads(tmp_path):
    (tmp_path / "good.json").write_text(edited())
    model = nn.load(tmp_path / "good.json")
    np.testing.assert_array_equal(model.weights()[1], [[0.5, 0.6]])


def test_a_failed_load_into_an_existing_model_leaves_it_exactly_as_it_was(tmp_path):
    model = nn.MLP(2, [2, 1], activation="tanh", seed=0)
    model([0.5, 0.5]).backward()
    before = snapshot(model)
    (tmp_path / "bad.json").write_text(edited().replace("0.6", "NaN"))
    with pytest.raises(ValueError):
        model.load_state_dict(nn.load(tmp_path / "bad.json").state_dict())
    assert snapshot(model) == before
    (tmp_path / "good.json").write_text(edited())
    model.load_state_dict(nn.load(tmp_path / "good.json").state_dict())
    assert model.state_dict()["W2[0,1]"] == 0.6


def test_load_of_a_file_that_is_not_utf8_names_the_path(tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b'{"format": "nn.MLP\xff\xfe"}')
    with pytest.raises(ValueError) as error:
        nn.load(path)
    assert "weights.bin" in str(error.value)
    assert "UTF-8" in str(error.value)


@pytest.mark.skipif(os.name != "posix", reason="file modes and umask are POSIX")
@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077], ids=["022", "002", "077"])
def test_save_gives_the_file_the_usual_permissions_and_leaves_no_temp_file(tmp_path, umask):
    previous = os.umask(umask)
    try:
        nn.save(nn.MLP(2, [1], seed=0), tmp_path / "model.json")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "model.json").stat().st_mode) == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]
