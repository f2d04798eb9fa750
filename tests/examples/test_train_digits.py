"""examples/train_digits.py run as a learner runs it: a short training, its files, its mistakes."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "train_digits.py"
PNG = b"\x89PNG\r\n\x1a\n"


def run(*args: str, cwd: Path, python: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, *python] if python else [sys.executable, str(SCRIPT)]
    return subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_a_short_run_beats_chance_and_writes_its_pictures(tmp_path):
    pytest.importorskip("sklearn")
    result = run("--epochs", "3", "--no-progress", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    accuracy = float(re.search(r"test accuracy ([\d.]+)% \(", result.stdout).group(1))
    assert 50.0 < accuracy <= 100.0  # ten classes: chance is 10%
    seconds = float(re.search(r"training took ([\d.]+) s \(3 epochs", result.stdout).group(1))
    assert 0.0 < seconds < 30.0
    out = tmp_path / "out"  # the default --out, relative to where it runs
    if importlib.util.find_spec("matplotlib") is None:
        assert "skipped the PNG plots" in result.stdout
    else:
        assert (out / "digits_loss.png").read_bytes()[:8] == PNG
        if "digits_misclassified.png" in result.stdout:
            assert (out / "digits_misclassified.png").read_bytes()[:8] == PNG


def test_progress_goes_to_stderr_and_the_out_folder_is_the_one_given(tmp_path):
    pytest.importorskip("sklearn")
    result = run("--epochs", "2", "--batch-size", "256", "--out", "pics", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2/2" in result.stderr
    assert "2/2" not in result.stdout
    assert (tmp_path / "pics").is_dir() and not (tmp_path / "out").exists()


def test_without_scikit_learn_it_says_skipped_and_exits_0(tmp_path):
    blocked = (
        "import runpy, sys; sys.modules['sklearn'] = None; "
        f"sys.path.insert(0, {str(SCRIPT.parent)!r}); "  # as `python script.py` does
        f"sys.argv = [{str(SCRIPT)!r}]; runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    result = run(cwd=tmp_path, python=("-c", blocked))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("skipped: needs scikit-learn")
    assert 'pip install -e ".[datasets]"' in lines[0]
    assert not (tmp_path / "out").exists()


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--epochs", "0"), "--epochs"),
        (("--epochs", "-3"), "--epochs"),
        (("--epochs", "x"), "--epochs"),
        (("--batch-size", "0"), "--batch-size"),
        (("--seed", "one"), "--seed"),
        (("--seed", "-1"), "--seed"),
        (("--seed", str(2**32)), "--seed"),  # scikit-learn's split takes seeds below 2**32
        (("--colour",), "--colour"),
        (("--colour", "red"), "--colour"),
    ],
)
def test_a_command_line_mistake_is_one_clear_line(tmp_path, args, named):
    result = run(*args, cwd=tmp_path)
    line = one_line_error(result)
    assert result.returncode == 2
    assert line.startswith("train_digits.py: ")
    assert named in line and args[-1] in line
    assert not (tmp_path / "out").exists()


def test_an_unwritable_out_is_one_clear_line(tmp_path):
    pytest.importorskip("sklearn")
    (tmp_path / "a-file").write_text("")
    result = run("--epochs", "1", "--out", "a-file/pictures", cwd=tmp_path)
    line = one_line_error(result)
    assert line.startswith("train_digits.py: cannot write to --out")  # the parser's prefix
    assert "a-file/pictures" in line
    assert "test accuracy" not in result.stdout  # it stops before training
