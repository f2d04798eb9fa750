"""Printing: the run's header, aligned tables, and numbers in readable units."""

from __future__ import annotations

import datetime
import os
import platform
from collections.abc import Sequence

from benchmarks import peers


def header() -> str:
    """Where and when the numbers were taken: they mean little without it."""
    found = peers.versions()
    lines = [
        f"date      {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"python    {platform.python_version()} ({platform.python_implementation()})",
        f"numpy     {found['numpy']}",
        f"micrograd {found['micrograd']}",
        f"torch     {found['torch']}",
        f"cpus      {os.cpu_count()}",
        f"platform  {platform.platform()} ({platform.machine()})",
    ]
    return "\n".join(lines)


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A titled table whose columns are as wide as their widest cell."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(columns, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([f"\n{title}", line(columns), rule, *(line(r) for r in rows)])


def seconds(value: float | None) -> str:
    """A duration with a unit that keeps three significant digits."""
    if value is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


def size(value: float | None) -> str:
    """A byte count in B, KiB, MiB or GiB."""
    if value is None:
        return "-"
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:.0f} B"


def ratio(reference: float | None, value: float | None) -> str:
    """How many times `value` beats `reference` (time or bytes): reference / value."""
    if reference is None or value is None or value <= 0.0:
        return "n/a"
    times = reference / value
    return f"{times:.0f}x" if times >= 100 else f"{times:.3g}x"


def verdict(met: bool) -> str:
    return "met" if met else "missed"
