"""The seed example scripts run as a learner runs them and print what they promise."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


SCRIPTS = [
    "seed_000_worked_example.py",
    "seed_001_elementwise_no_bias.py",
    "seed_002_generic_network.py",
    "seed_003_elementwise_with_bias.py",
    "seed_004_vectorised_bce.py",
]


def call(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True, timeout=120
    )


def run(name: str) -> str:
    result = call(name)
    assert result.returncode == 0, result.stderr
    assert "MISMATCH" not in result.stdout
    return result.stdout


@pytest.fixture(scope="module")
def seed000() -> str:
    return run("seed_000_worked_example.py")


ROW = re.compile(r"^(?P<name>.{32})\s*(?P<seed>\S+)\s+(?P<engine>\S+)\s+(\S+)\s+(?P<mark>ok|SLIP)$")

SEED000_SLIPS = {
    "0.8 · a1[1]",
    "(1 - a2[0])²",
    "(0 - a2[1])²",
    "L",
    "σ'(z2[1]) = a2[1](1 - a2[1])",
    "δ2[0] = dL/db2[0]",
    "dL/dW2[0,0] = δ2[0] a1[0]",
    "dL/dW2[1,1] = δ2[1] a1[1]",
    "δ1[0] = dL/dW1[0,0] = dL/db1[0]",
    "δ1[0] inside the dL/dW1 line",
}


def test_seed000_example_marks_exactly_the_seeds_slips(seed000):
    lines = seed000.splitlines()
    rows = [(i, ROW.match(line)) for i, line in enumerate(lines)]
    rows = [(i, m) for i, m in rows if m]
    assert len(rows) == 32
    slips = set()
    for i, row in rows:
        agrees = row["seed"] == row["engine"]
        assert (row["mark"] == "ok") == agrees, lines[i]
        if not agrees:
            slips.add(row["name"].strip())
            assert lines[i + 1].strip().startswith("why: ")
            assert "no reason recorded" not in lines[i + 1]
    assert slips == SEED000_SLIPS
    assert "22 of 32 figures agree; 10 are slips." in seed000


def test_seed000_example_prints_the_true_loss_and_outputs(seed000):
    x, y = np.array([1.0]), np.array([1.0, 0.0])
    a1 = 1 / (1 + np.exp(-(np.array([[0.2], [-0.3]]) @ x + 0.1)))
    z2 = np.array([[0.4, -0.5], [0.3, 0.8]]) @ a1 + np.array([0.2, -0.1])
    a2 = 1 / (1 + np.exp(-z2))
    loss = 0.5 * np.sum((a2 - y) ** 2)
    rows = {m["name"].strip(): m for m in map(ROW.match, seed000.splitlines()) if m}
    assert (rows["L"]["seed"], rows["L"]["engine"]) == ("0.2846", f"{loss:.4f}")
    assert f"{loss:.12g}" in seed000
    assert rows["a2[0] = ŷ1"]["engine"] == "0.5510" and rows["a2[1] = ŷ2"]["engine"] == "0.6065"
    assert "W2 δ2 = [-0.1168, 0.0825]" in seed000
    # the summary owns up to that formula slip instead of calling every formula right
    assert "written with a transpose too many" in seed000.replace("\n", " ")


def test_seed001_example_matches_every_formula_and_the_first_order_prediction():
    out = run("seed_001_elementwise_no_bias.py")
    assert len(re.findall(r"^∂E/∂w\d\d .* ok$", out, flags=re.M)) == 8
    assert out.count("SLIP") == 5
    ratios = [float(r) for r in re.findall(r"change / prediction = ([\d.]+)", out)]
    assert len(ratios) == 2
    assert abs(ratios[1] - 1) < abs(ratios[0] - 1) < 1e-3


def test_seed002_example_matches_both_pairings_and_shows_the_bias_slip():
    out = run("seed_002_generic_network.py")
    assert len(re.findall(r"engine gap \S+  ok$", out, flags=re.M)) == 10
    assert out.count("SLIP") == 5
    assert "could not be broadcast" in out
    bias_gap = float(re.search(r"\(engine\); gap (\d+\.\d+)", out).group(1))
    assert bias_gap > 0.1


def test_seed003_example_matches_weights_and_biases_and_marks_three_slips():
    out = run("seed_003_elementwise_with_bias.py")
    assert len(re.findall(r"^∂E/∂[wb]\^\d_\d+ .* ok", out, flags=re.M)) == 12
    assert out.count("SLIP") == 3
    change, predicted = map(float, re.search(r"change (\S+) against .* = (\S+)\.", out).groups())
    assert change < 0 and abs(change / predicted - 1) < 0.05


def test_seed004_example_compares_matrices_and_the_recursion():
    out = run("seed_004_vectorised_bce.py")
    assert len(re.findall(r"engine gap \S+  ok$", out, flags=re.M)) == 8 + 3
    assert out.count("SLIP") == 6
    assert "m = 6 times too big (ratio 6.0)" in out
    assert "the product is undefined" in out


@pytest.mark.parametrize("name", SCRIPTS)
def test_help_says_what_the_script_shows_and_runs_nothing(name):
    result = call(name, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {name} [-h]")
    number = name.split("_")[1]  # seed_001_... -> 001
    assert f"Seed {number}" in result.stdout  # the docstring's first line
    assert "SLIP" not in result.stdout and result.stderr == ""


@pytest.mark.parametrize("name", SCRIPTS)
@pytest.mark.parametrize("args", [("--bogus",), ("extra",)])
def test_an_unknown_argument_is_one_line_and_status_2(name, args):
    result = call(name, *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [f"{name}: unrecognized arguments: {args[0]} (see --help)"]


@pytest.mark.parametrize("name", [*SCRIPTS, "seed_000_graph.py"])
def test_the_scripts_cite_the_seed_notes_by_number_not_by_a_path_outside_the_repository(name):
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    assert "shared/seeds" not in text and "../" not in text


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_script_without_options_has_no_parsing_code_of_its_own(name):
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    assert "def main() -> None:" in text
    assert text.rstrip().endswith("help_only(__file__, __doc__)\n    main()")
    for boilerplate in ("argv", "add_argument", "parse_args", "sys.exit"):
        assert boilerplate not in text, boilerplate


@pytest.fixture
def cli(monkeypatch):
    """examples/cli.py, imported as the scripts import it."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import cli

    return cli


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("positive_int", "0", "the value must be a positive int (got 0)"),
        ("positive_int", "-3", "the value must be a positive int (got -3)"),
        ("positive_int", "2.0", "the value must be a whole number (got '2.0')"),
        ("non_negative_int", "-1", "the value must be an int >= 0 (got -1)"),
        ("non_negative_int", "x", "the value must be a whole number (got 'x')"),
        ("random_seed", "-1", "the value must be an int from 0 to 4294967295 (got -1)"),
        (
            "random_seed",
            str(2**32),
            f"the value must be an int from 0 to {2**32 - 1} (got {2**32})",
        ),
    ],
)
def test_command_line_numbers_are_refused_in_the_librarys_message_form(cli, kind, text, message):
    with pytest.raises(argparse.ArgumentTypeError) as error:
        getattr(cli, kind)(text)
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("kind", "text", "number"),
    [
        ("positive_int", "1", 1),
        ("non_negative_int", "0", 0),
        ("random_seed", "0", 0),
        ("random_seed", str(2**32 - 1), 2**32 - 1),
    ],
)
def test_command_line_numbers_at_the_edges_are_taken(cli, kind, text, number):
    assert getattr(cli, kind)(text) == number
