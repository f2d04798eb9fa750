"""The main job, examples/train_moons.py, run as a newcomer runs it, on a small setting."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "train_moons.py"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_trains_above_chance_and_writes_its_pictures(tmp_path):
    result = run("--epochs", "30", "--samples", "120", "--no-progress", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    accuracy = float(re.search(r"training accuracy ([\d.]+)%", result.stdout).group(1))
    assert accuracy > 90.0
    out = tmp_path / "out"  # the default --out, relative to where it runs
    if shutil.which("dot"):
        svg = (out / "neuron.svg").read_text()
        assert "<svg" in svg and "a1[0]" in svg and "W1[0,1]" in svg
    else:
        assert (out / "neuron.gv").stat().st_size > 0
    if importlib.util.find_spec("matplotlib") is None:
        assert "skipped the PNG plots" in result.stdout
    else:
        for name in ("loss_curve.png", "decision_boundary.png"):
            assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_progress_line_goes_to_stderr_and_is_absent_with_no_progress(tmp_path):
    shown = run("--epochs", "3", "--samples", "40", cwd=tmp_path)
    quiet = run("--epochs", "3", "--samples", "40", "--no-progress", cwd=tmp_path)
    assert shown.returncode == quiet.returncode == 0
    assert "3/3" in shown.stderr
    assert quiet.stderr == ""


@pytest.mark.parametrize("epochs", ["0", "-3", "many"])
def test_a_bad_epochs_is_one_clear_line(tmp_path, epochs):
    result = run("--epochs", epochs, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--epochs" in lines[0] and epochs in lines[0]
    assert "Traceback" not in result.stderr


def test_an_unwritable_out_is_one_clear_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = run("--epochs", "1", "--out", str(blocker / "sub"), cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write to --out" in lines[0]
    assert "Traceback" not in result.stderr
