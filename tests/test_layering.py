"""Dependencies point one way: nn -> autodiff <- viz, and nothing back."""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
ALLOWED = {"autodiff": set(), "nn": {"autodiff"}, "viz": {"autodiff"}}


def imported_packages(path: pathlib.Path) -> set[str]:
    """The project packages a module imports, at any depth of the file (functions included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(ALLOWED)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_the_packages_below_it(package):
    for path in sorted((ROOT / package).rglob("*.py")):
        others = imported_packages(path) - {package}
        assert others <= ALLOWED[package], f"{path.relative_to(ROOT)} imports {sorted(others)}"


def test_value_and_backward_do_not_import_each_other_in_a_circle():
    # value.py uses backward.py; backward.py names Value only for type checking
    backward = ast.parse((ROOT / "autodiff" / "backward.py").read_text(encoding="utf-8"))
    runtime_imports = [
        node
        for node in backward.body
        if isinstance(node, ast.ImportFrom) and node.module == "autodiff.value"
    ]
    assert runtime_imports == []


def test_the_core_two_files_stay_short_enough_to_read_in_one_sitting():
    lines = sum(
        len((ROOT / "autodiff" / name).read_text(encoding="utf-8").splitlines())
        for name in ("value.py", "backward.py")
    )
    assert lines <= 250
