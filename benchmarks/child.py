"""One W2 deep-chain run in a fresh process, printed as JSON on stdout.

A fresh process gives each run its own peak-RSS reading and keeps a crash, a RecursionError or
a MemoryError from touching the parent. Usage: `python -m benchmarks.child ENGINE N`.
"""

from __future__ import annotations

import json
import math
import resource
import sys
import time

from benchmarks import graphs, peers

WARM_UP_LENGTH = 100  # short enough for the recursive peers, long enough to load every code path


def _status_kib(key: str) -> int:
    """A memory line of /proc/self/status (Linux), in KiB."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(f"{key}:"))
    return int(line.split()[1])


def _start_peak() -> tuple[int, str]:
    """Baseline KiB and method: reset the high-water mark where Linux allows, else ru_maxrss."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "ru_maxrss"
    return _status_kib("VmRSS"), "VmHWM"


def _peak_kib(method: str) -> int:
    if method == "VmHWM":
        return _status_kib("VmHWM")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(engine: str, n: int) -> dict[str, object]:
    """Time, peak RSS growth over the warmed-up baseline, and whether x_n and the grad are right."""
    try:
        run = graphs.chain_runner(engine)
    except peers.Unavailable as reason:
        return {"status": str(reason)}
    run(WARM_UP_LENGTH)
    baseline_kib, method = _start_peak()
    start = time.perf_counter()
    try:
        value, grad = run(n)
    except (RecursionError, MemoryError) as error:
        return {"status": type(error).__name__}
    seconds = time.perf_counter() - start
    growth = (_peak_kib(method) - baseline_kib) * 1024
    want_value, want_grad = graphs.chain_expected(n)
    # The gradient is about 0.48**n, so past n ~ 1000 it underflows: compare it absolutely there.
    right = math.isclose(value, want_value, rel_tol=1e-12) and math.isclose(
        grad, want_grad, rel_tol=1e-9, abs_tol=1e-300
    )
    status = "ok" if right else f"wrong: x_n, grad {value!r}, {grad!r}"
    status += "" if right else f"; want {want_value!r}, {want_grad!r}"
    return {"status": status, "seconds": seconds, "peak_rss_bytes": growth, "method": method}


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], int(sys.argv[2]))))
