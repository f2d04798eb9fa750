"""state_dict, load_state_dict, nn.save and nn.load: round trips, and malformed input refused
before anything changes."""

from __future__ import annotations

import json
import os
import stat
import threading
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
    with pytest.raises(ValueError, match="NaN is not a number JSON allows"):
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


# --- save over what exists; load only what is a model file -----------------------------------

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes, links and FIFOs are POSIX")


@posix_only
def test_save_over_an_existing_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "model.json"
    path.write_text("old")
    path.chmod(0o600)
    nn.save(nn.MLP(2, [1], seed=0), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert nn.load(path).nouts == (1,)


@posix_only
def test_save_through_a_symlink_rewrites_the_file_it_points_at(tmp_path):
    target = tmp_path / "store" / "model.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "current.json"
    link.symlink_to(target)
    model = nn.MLP(2, [3, 1], seed=4)
    nn.save(model, link)
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert nn.load(target).state_dict() == model.state_dict()
    assert sorted(p.name for p in target.parent.iterdir()) == ["model.json"]


def test_save_syncs_the_file_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    events = []
    fsync, replace = os.fsync, os.replace

    def spy_fsync(fd):
        kind = "folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        events.append(kind)
        fsync(fd)

    def spy_replace(src, dst):
        events.append("rename")
        replace(src, dst)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "replace", spy_replace)
    nn.save(nn.MLP(2, [1], seed=0), tmp_path / "model.json")
    assert events == (["file", "rename", "folder"] if os.name == "posix" else ["file", "rename"])


@posix_only
def test_save_refuses_to_replace_something_that_is_not_a_regular_file(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match=r"^save: path must be a regular file .*\(got a pipe"):
        nn.save(nn.MLP(2, [1], seed=0), fifo)
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def load_in_a_thread(path):
    """nn.load(path) in a thread, so a load that blocks fails the test instead of hanging it."""
    outcome = {}

    def run():
        try:
            nn.load(path)
        except Exception as error:  # the test inspects whatever was raised
            outcome["error"] = error

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), f"nn.load({path}) still running after 10 s"
    return outcome.get("error")


@posix_only
def test_load_of_a_fifo_refuses_at_once_instead_of_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "model.json"
    os.mkfifo(fifo)
    error = load_in_a_thread(fifo)
    assert isinstance(error, ValueError)
    assert "must be a regular file (got a pipe (FIFO))" in str(error)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_load_of_dev_zero_refuses_at_once_instead_of_reading_forever():
    error = load_in_a_thread("/dev/zero")
    assert isinstance(error, ValueError)
    assert "'/dev/zero': must be a regular file (got a character device)" in str(error)


def test_load_of_a_directory_says_so(tmp_path):
    with pytest.raises(ValueError, match=r"must be a regular file \(got a directory\)"):
        nn.load(tmp_path)


def test_load_refuses_a_file_larger_than_the_cap_without_reading_it(tmp_path):
    path = tmp_path / "huge.json"
    with path.open("wb") as f:
        f.truncate(nn.state.MAX_BYTES + 1)  # sparse: no disk space, and nothing worth reading
    with pytest.raises(ValueError, match=rf"at most {nn.state.MAX_BYTES} bytes \(got"):
        nn.load(path)


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        (10**5000, "b2[0] must be a finite number (got an int of about 5000 digits)"),
        (-(10**5000), "b2[0] must be a finite number (got a negative int of about 5000 digits)"),
    ],
    ids=["positive", "negative"],  # pytest cannot print these numbers either
)
def test_load_state_dict_names_an_int_too_long_to_print(bad, fragment):
    model = nn.MLP(2, [3, 1], seed=0)
    before = snapshot(model)
    with pytest.raises(ValueError) as error:
        model.load_state_dict({**model.state_dict(), "b2[0]": bad})
    assert fragment in str(error.value)
    assert snapshot(model) == before


def test_load_state_dict_names_an_unexpected_key_too_long_to_print():
    model = nn.MLP(2, [1], seed=0)
    with pytest.raises(ValueError, match=r"unexpected an int of about 5000 digits"):
        model.load_state_dict({**model.state_dict(), 10**5000: 1.0})
