"""An opt-in pause of Python's cyclic garbage collector while building very large graphs."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0  # how many pauses are open, in every thread
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector inside the block; it is back as it was after the last.

    Graphs hold no reference cycles, so the collector finds nothing in them, yet each of its
    full collections walks the whole graph again: for a chain of 10^5 ops, a large share of the
    time to build it (`python -m benchmarks.run --only W2` measures it). The pause is
    process-wide, so pauses in several threads are counted and the last one to end restores
    the collector: it is never left off.
    """
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
