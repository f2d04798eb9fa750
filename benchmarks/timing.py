"""Interleaved timing, so that a change in machine load during a run hits every engine alike."""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """Median seconds per call, or the type of the error that the warm-up call raised."""

    seconds: float | None = None
    error: str | None = None


def _calls_per_repeat(fn: Callable[[], object], min_seconds: float) -> int:
    """Call fn once as warm-up; return how many calls make a repeat last at least min_seconds."""
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    return max(1, math.ceil(min_seconds / max(elapsed, 1e-9)))


def interleaved(
    fns: Mapping[str, Callable[[], object]], repeats: int, min_seconds: float
) -> dict[str, Timing]:
    """Median time per call of each fn after a warm-up call, taking turns every repeat.

    An fn whose warm-up raises is reported with the error's type and not timed. Between repeats
    an untimed `gc.collect()` frees the garbage just made, so that no engine pays for another's
    cyclic garbage; this favours micrograd, whose graphs are cycles through closures.
    """
    calls: dict[str, int] = {}
    results: dict[str, Timing] = {}
    for name, fn in fns.items():
        try:
            calls[name] = _calls_per_repeat(fn, min_seconds)
        except (RecursionError, MemoryError) as error:
            results[name] = Timing(error=type(error).__name__)
        gc.collect()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    order = list(calls)
    for repeat in range(repeats):
        shift = repeat % len(order) if order else 0
        for name in order[shift:] + order[:shift]:
            fn, n = fns[name], calls[name]
            start = time.perf_counter()
            for _ in range(n):
                fn()
            samples[name].append((time.perf_counter() - start) / n)
            gc.collect()
    for name, times in samples.items():
        results[name] = Timing(seconds=statistics.median(times))
    return {name: results[name] for name in fns}
