"""examples/continue_in_torch.py run as a learner runs it: the same loss on both sides of the
hand-over, training that goes on in PyTorch, and the line it prints without PyTorch."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "continue_in_torch.py"
needs_torch = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason='needs PyTorch, the optional extra: pip install -e ".[torch]"',
)


def run(*args: str, cwd: Path, python: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, *python] if python else [sys.executable, str(SCRIPT)]
    return subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@needs_torch
def test_the_loss_is_the_same_at_the_hand_over_and_falls_in_torch(tmp_path):
    args = ("--epochs", "5", "--torch-epochs", "4", "--samples", "80", "--no-progress")
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    here = float(re.search(r"hand-over loss here: +([\d.]+)", result.stdout).group(1))
    there = float(re.search(r"hand-over loss in torch: +([\d.]+)", result.stdout).group(1))
    assert here == pytest.approx(there, rel=1e-12)
    assert "Linear -> ReLU -> Linear -> ReLU -> Linear" in result.stdout
    losses = [float(x) for x in re.findall(r"torch epoch \d+: loss ([\d.]+)", result.stdout)]
    assert len(losses) == 4
    assert losses[-1] < here  # training went on from where it was handed over
    assert re.search(r"in torch: training accuracy [\d.]+% after 4 more epochs", result.stdout)


def test_without_torch_it_says_skipped_and_exits_0(tmp_path):
    blocked = (
        "import runpy, sys; sys.modules['torch'] = None; "
        f"sys.path.insert(0, {str(SCRIPT.parent)!r}); "  # as `python script.py` does
        f"sys.argv = [{str(SCRIPT)!r}]; runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    result = run(cwd=tmp_path, python=("-c", blocked))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("skipped: needs PyTorch")
    assert 'pip install -e ".[torch]"' in lines[0]


@pytest.mark.parametrize(
    ("args", "named"),
    [(("--torch-epochs", "-1"), "--torch-epochs"), (("--epochs", "0"), "--epochs")],
)
def test_a_command_line_mistake_is_one_clear_line(tmp_path, args, named):
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("continue_in_torch.py: ")
    assert named in lines[0]
