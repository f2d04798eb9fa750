"""The main job, examples/train_moons.py, run as a newcomer runs it, on a small setting."""

from __future__ import annotations

import html
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


def assert_self_contained(page: str) -> None:
    """An HTML page that fetches nothing: no file, script, style or font from elsewhere."""
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, flags=re.I)
    assert not re.search(r"<script[^>]*\ssrc=|<link[^>]*stylesheet|@import|url\(", page)


def test_trains_above_chance_and_writes_its_pictures_and_page(tmp_path):
    result = run("--epochs", "30", "--samples", "120", "--no-progress", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    accuracy = float(re.search(r"training accuracy ([\d.]+)%", result.stdout).group(1))
    assert accuracy > 90.0
    out = tmp_path / "out"  # the default --out, relative to where it runs
    if shutil.which("dot"):
        assert "<svg" in (out / "neuron.svg").read_text()
        unit = re.search(r"unit (a1\[\d+\]) on training point", result.stdout)[1]
        said = rf"wrote \S*backprop\.html: {re.escape(unit)}'s forward pass and backward sweep"
        assert re.search(said, result.stdout)
        page = (out / "backprop.html").read_text(encoding="utf-8")
        assert page.startswith("<!DOCTYPE html>") and "<svg" in page
        assert f'data-label="{unit}"' in page and 'data-label="b1[' in page
        assert_self_contained(page)
    else:
        assert (out / "neuron.gv").stat().st_size > 0
        assert "skipped neuron.svg and backprop.html" in result.stdout
    if importlib.util.find_spec("matplotlib") is None:
        assert "skipped the PNG plots" in result.stdout
    else:
        for name in ("loss_curve.png", "decision_boundary.png"):
            assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def drawn_values(out: Path) -> dict[str, tuple[float, float]]:
    """Each drawn Value's label with its (data, grad), read from neuron.svg or else neuron.gv."""
    if shutil.which("dot"):
        svg = (out / "neuron.svg").read_text(encoding="utf-8")
        texts = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
        found = {}
        for i in range(len(texts) - 2):
            label, data, grad = texts[i : i + 3]
            if data.startswith("data ") and grad.startswith("grad "):
                found[label] = (float(data[5:]), float(grad[5:]))
        return found
    source = (out / "neuron.gv").read_text(encoding="utf-8")
    rows = re.findall(r'label="\{ (\S+) \| data (\S+) \| grad (\S+) \}"', source)
    return {label: (float(data), float(grad)) for label, data, grad in rows}


def test_the_neuron_picture_shows_an_active_unit_with_nonzero_gradients(tmp_path):
    result = run("--epochs", "30", "--samples", "120", "--no-progress", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    said = re.search(
        r"unit (a1\[(\d+)\]) on training point \d+, with the gradients of (.+)$",
        result.stdout,
        flags=re.M,
    )
    assert said, result.stdout
    assert said[3].startswith(("that point's hinge loss", "the network's score"))
    unit, j = said[1], said[2]
    values = drawn_values(tmp_path / "out")
    a_data, a_grad = values[unit]
    z_data, z_grad = values[f"z1[{j}]"]
    assert a_data > 0 and z_data > 0  # an active relu, which passes its gradient back
    assert a_grad != 0
    assert z_grad == pytest.approx(a_grad)  # relu'(z) = 1 for z > 0
    # z = b + Σ w_k x_k, so dz/db = 1 and dz/dw_k = x_k (the picture prints 4 digits)
    assert values[f"b1[{j}]"][1] == pytest.approx(z_grad, rel=1e-3)
    for k in (0, 1):
        x_data = values[f"x[{k}]"][0]
        w_grad = values[f"W1[{j},{k}]"][1]
        assert w_grad != 0
        assert w_grad == pytest.approx(z_grad * x_data, rel=2e-3, abs=1e-4)


def test_progress_line_goes_to_stderr_and_is_absent_with_no_progress(tmp_path):
    shown = run("--epochs", "3", "--samples", "40", cwd=tmp_path)
    quiet = run("--epochs", "3", "--samples", "40", "--no-progress", cwd=tmp_path)
    assert shown.returncode == quiet.returncode == 0
    assert "3/3" in shown.stderr
    assert quiet.stderr == ""


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "named", "shown"),
    [
        (("--epochs", "0"), "--epochs", "0"),
        (("--epochs", "-3"), "--epochs", "-3"),
        (("--epochs", "many"), "--epochs", "many"),
        (("--seed", "-1"), "--seed", "-1"),
        (("--seed", str(2**32)), "--seed", str(2**32)),
        (("--seed", "x"), "--seed", "x"),
        (("--colour", "red"), "--colour", "red"),
        (("extra",), "unrecognized arguments", "extra"),
    ],
)
def test_a_command_line_mistake_is_one_clear_line(tmp_path, args, named, shown):
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2
    line = one_line_error(result)
    assert line.startswith("train_moons.py: ")
    assert named in line and shown in line
    assert not (tmp_path / "out").exists()


def test_an_unwritable_out_is_one_clear_line_with_the_same_prefix(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = run("--epochs", "1", "--out", str(blocker / "sub"), cwd=tmp_path)
    assert result.returncode == 1
    line = one_line_error(result)
    assert line.startswith("train_moons.py: cannot write to --out")
