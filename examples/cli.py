"""Command-line pieces the examples share: mistakes end in one clear line, never a traceback."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {number}")
    return number


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose mistakes end in one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def prepare_output(folder: Path, prog: str) -> None:
    """Make the output folder, or stop with one line saying why it cannot be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        sys.exit(f"{prog}: cannot write to --out {str(folder)!r}: {error.strerror or error}")
