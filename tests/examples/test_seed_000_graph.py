"""examples/seed_000_graph.py runs end to end, writes its files, and agrees with the δ rule."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import viz
from autodiff import Value

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "seed_000_graph.py"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs graphviz's dot")


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The script as a module, finding examples/cli.py as `python examples/...` would."""
    monkeypatch.syspath_prepend(str(EXAMPLE.parent))
    spec = importlib.util.spec_from_file_location("seed_000_graph", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def closed_form() -> tuple[np.ndarray, np.ndarray, float]:
    """dL/dW1 and dL/dW2 of the seed by the δ rule: δ2 = (a2 - y) σ'(z2), δ1 = W2ᵀ δ2 σ'(z1)."""
    x = np.array([1.0])
    W1, b1 = np.array([[0.2], [-0.3]]), np.array([0.1, 0.1])
    W2, b2 = np.array([[0.4, -0.5], [0.3, 0.8]]), np.array([0.2, -0.1])
    y = np.array([1.0, 0.0])
    a1 = 1 / (1 + np.exp(-(W1 @ x + b1)))
    a2 = 1 / (1 + np.exp(-(W2 @ a1 + b2)))
    loss = 0.5 * np.sum((a2 - y) ** 2)
    delta2 = (a2 - y) * a2 * (1 - a2)
    delta1 = (W2.T @ delta2) * a1 * (1 - a1)
    return np.outer(delta1, x), np.outer(delta2, a1), loss


@pytest.mark.parametrize(
    "flags", [[], ["--values"]], ids=["built-with-nn-MLP", "written-out-from-Values"]
)
def test_example_writes_its_files_and_matches_the_closed_form(
    example: ModuleType, flags: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = example.main(["--out", str(tmp_path / "out"), *flags])
    assert result["built_with"] == ("autodiff Values" if flags else "nn.MLP.from_weights")
    dW1, dW2, loss = closed_form()
    assert result["loss"].data == pytest.approx(loss)
    derivations = result["derivations"]
    assert derivations["W1[0,0]"].total == pytest.approx(dW1[0, 0])
    assert derivations["W2[0,1]"].total == pytest.approx(dW2[0, 1])
    assert result["nodes"]["W1[0,0]"].grad == pytest.approx(dW1[0, 0])
    for path in result["files"]:
        assert path.exists() and path.stat().st_size > 0, path
    names = {p.name for p in result["files"]}
    assert {"seed_000_dL_dW1_0_0.md", "seed_000_dL_dW2_0_1.md"} <= names
    if shutil.which("dot"):
        assert {"seed_000_graph.svg", "seed_000_graph.png"} <= names
    markdown = (tmp_path / "out" / "seed_000_dL_dW1_0_0.md").read_text(encoding="utf-8")
    assert r"\frac{\partial L}{\partial W^{[1]}_{0,0}}" in markdown
    printed = capsys.readouterr().out
    assert "a1 = σ(z1) = [0.5744, 0.4502]" in printed
    assert "∂L/∂W1[0,0] by the chain rule" in printed


@needs_dot
@pytest.mark.render
def test_example_runs_as_a_script_with_the_default_out_folder(tmp_path: Path) -> None:
    done = run(cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for name in ("seed_000_graph.svg", "seed_000_graph.png", "seed_000_dL_dW2_0_1.md"):
        assert (tmp_path / "out" / name).stat().st_size > 0


def test_both_routes_build_the_same_graph(example: ModuleType) -> None:
    sources = []
    for build in (example.build_with_nn, example.build_with_values):
        loss = build([Value(1.0, label="x[0]")])
        loss.backward()
        sources.append(viz.draw_graph(loss).source)
    assert sources[0] == sources[1]


def test_help_describes_the_options_and_runs_nothing(tmp_path: Path) -> None:
    done = run("--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: seed_000_graph.py")
    assert "--values" in done.stdout and "--out" in done.stdout
    assert "forward" not in done.stdout
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "status", "says"),
    [
        (("--bogus",), 2, "seed_000_graph.py: unrecognized arguments: --bogus"),
        (("--out",), 2, "seed_000_graph.py: argument --out: expected one argument"),
        (("--out", "a-file/sub"), 1, "seed_000_graph.py: cannot write to --out 'a-file/sub'"),
    ],
    ids=["unknown-flag", "out-without-folder", "unwritable-out"],
)
def test_a_command_line_mistake_is_one_line(
    tmp_path: Path, args: tuple[str, ...], status: int, says: str
) -> None:
    (tmp_path / "a-file").write_text("")
    done = run(*args, cwd=tmp_path)
    assert done.returncode == status
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(says), done.stderr
    assert done.stdout == ""
