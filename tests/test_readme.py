"""The README's "How it works" quotes the code: the quotes must stay true."""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def quoted_blocks(section: str) -> list[str]:
    """The plain code blocks (no language) inside a README section, dedented."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index(section)
    body = readme[start : readme.index("\n## ", start + 1)]
    blocks = re.findall(r"\n( *)```\n(.*?)\n\1```", body, flags=re.S)
    return ["\n".join(line[len(indent) :] for line in code.splitlines()) for indent, code in blocks]


def test_how_it_works_quotes_the_op_table_and_the_backward_loop_as_they_are():
    blocks = quoted_blocks("## How it works")
    assert len(blocks) == 2
    ops_source = (ROOT / "autodiff" / "ops.py").read_text(encoding="utf-8")
    backward_source = (ROOT / "autodiff" / "backward.py").read_text(encoding="utf-8")
    assert blocks[0] in ops_source
    loop = "\n".join(line.strip() for line in blocks[1].splitlines())
    assert loop in "\n".join(line.strip() for line in backward_source.splitlines())


def test_the_chain_rule_line_is_on_the_first_screen_of_backward_py():
    lines = (ROOT / "autodiff" / "backward.py").read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if "# the chain rule" in line)
    assert first < 50
