"""Pieces the example scripts share: a command line whose mistakes end in one clear line, never a
traceback (numbers checked by autodiff.checks, so the message has the library's one form), and
the optional matplotlib plots."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from autodiff import checks

SEED_MAX = 2**32 - 1  # the seeds numpy and scikit-learn both accept
PLOTS_HINT = 'pip install -e ".[plots]"'


def _checked(text: str, check: Callable[[int, str], int]) -> int:
    """`text` as a whole number that passes `check`, one of autodiff's checks; else an argparse
    error with the check's message (argparse puts the option's name before it)."""
    where = "the value"
    try:
        number = int(text)
    except ValueError:
        message = f"{where} must be a whole number (got {checks.shown(text)})"
        raise argparse.ArgumentTypeError(message) from None
    try:
        return check(number, where)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    return _checked(text, checks.size)


def non_negative_int(text: str) -> int:
    """argparse type: a whole number of at least 0."""
    return _checked(text, functools.partial(checks.integer, lo=0))


def random_seed(text: str) -> int:
    """argparse type: a seed from 0 to SEED_MAX."""
    return _checked(text, functools.partial(checks.integer, lo=0, hi=SEED_MAX))


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose mistakes end in one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def script_parser(script: str, doc: str | None) -> OneLineParser:
    """The parser of an example script: named after its file, described by its docstring's first
    line. Naming it after the file (not sys.argv[0]) keeps the name right when a test calls the
    script's main() in-process."""
    description = (doc or "").strip().split("\n")[0]
    return OneLineParser(prog=Path(script).name, description=description)


def help_only(script: str, doc: str | None) -> None:
    """The command line of a script that takes no options: `--help` prints what it shows (its
    docstring's first line), anything else stops it with one line."""
    script_parser(script, doc).parse_args()


def prepare_output(folder: Path, prog: str) -> None:
    """Make the output folder, or stop with one line, prefixed with `prog`, saying why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        sys.exit(f"{prog}: cannot write to --out {str(folder)!r}: {error.strerror or error}")


def pyplot_or_reason() -> tuple[Any, str]:
    """matplotlib.pyplot on the file-only Agg backend and "", or None and a line saying why not."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None, f"skipped the PNG plots: matplotlib is not installed ({PLOTS_HINT})"
    return plt, ""


def plot_history(history: Any, path: Path, title: str) -> Path:
    """Draw an `nn.History`'s training loss and accuracy per epoch into the PNG file `path`."""
    plt, reason = pyplot_or_reason()
    if plt is None:
        raise ModuleNotFoundError(reason)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    epochs = range(1, len(history.loss) + 1)
    marker = "." if len(history.loss) <= 50 else None  # dots help only while they stay apart
    ax.plot(epochs, history.loss, marker=marker, label="training loss")
    if history.accuracy:
        ax.plot(epochs, history.accuracy, marker=marker, label="training accuracy")
    ax.set_xlabel("epoch")
    ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
