"""Time our engine against micrograd, torch, numpy and scikit-learn on workloads W1-W5; print them.

Usage, from the repository root: python -m benchmarks.run [--quick] [--only W1,W2,...]
Times are medians of interleaved repeats after a warm-up; ratios are to peers of the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from micrograd.engine import Value as MgValue

import autodiff
from benchmarks import digits, graphs, moons, peers, report, timing

ROOT = Path(__file__).resolve().parents[1]
CHECK_TOLERANCE = 1e-9
CHILD_TIMEOUT = 300.0


@dataclass(frozen=True)
class Settings:
    """How hard a run tries: --quick trades precision and the largest chain for time."""

    repeats: int
    min_seconds: float
    chain_repeats: dict[int, int]
    wide_n: int = 10**5
    memory_n: int = 10**5


FULL = Settings(repeats=7, min_seconds=0.2, chain_repeats={10**3: 5, 10**4: 5, 10**5: 3, 10**6: 1})
QUICK = Settings(repeats=3, min_seconds=0.05, chain_repeats={10**3: 1, 10**4: 1, 10**5: 1})


def moons_step(settings: Settings) -> None:
    """W1: a training step of micrograd's moons demo at batch 16, 64 and 256."""
    rng = np.random.default_rng(0)
    weights = moons.random_weights(rng)
    engines = moons.build_engines(weights)
    failed = _check_moons(engines, rng)
    ready = {name: engine for name, engine in engines.items() if name not in failed}

    times: dict[tuple[int, str], float | None] = {}
    shown: dict[tuple[int, str], str] = {}
    for batch in (16, 64, 256):
        points, labels = moons.make_moons(batch, 0.1, rng)
        for engine in ready.values():
            engine.load(weights)
            engine.use_batch(points, labels)
        measured = timing.interleaved(
            {name: engine.step for name, engine in ready.items()},
            settings.repeats,
            settings.min_seconds,
        )
        for name in engines:
            result = measured[name] if name in measured else timing.Timing(error=failed[name])
            times[batch, name] = result.seconds
            shown[batch, name] = result.error or report.seconds(result.seconds)
    rows = [
        [
            str(batch),
            name,
            text,
            report.ratio(times[batch, "micrograd"], times[batch, name]),
            _moons_target(batch, name, times),
        ]
        for (batch, name), text in shown.items()
    ]
    columns = ["batch", "engine", "time/step", "vs micrograd", "target"]
    print(report.table("W1 moons step: time per training step", columns, rows))
    micrograd_shaped_tape(settings)


def micrograd_shaped_tape(settings: Settings) -> None:
    """W1, traced: the network written micrograd's way against nn.MLP, forward and gradient."""
    rng = np.random.default_rng(1)
    weights = moons.random_weights(rng)
    runs = {
        "nn.MLP through trace": moons.tape_forward_backward(moons._ours_model(weights)),
        "micrograd-shaped MLP through trace": moons.tape_forward_backward(
            moons.micrograd_shaped_model(weights)
        ),
    }
    points, labels = moons.make_moons(256, 0.1, rng)
    batch = np.column_stack([points, labels])
    grads = {name: run(batch) for name, run in runs.items()}
    # both tapes list the parameters layer by layer, W row by row, then b
    same = np.allclose(*grads.values(), rtol=1e-12, atol=1e-15)
    measured = timing.interleaved(
        {name: (lambda run=run: run(batch)) for name, run in runs.items()},
        settings.repeats,
        settings.min_seconds,
    )
    mlp = measured["nn.MLP through trace"].seconds
    rows = []
    for name, result in measured.items():
        target = ""
        if name.startswith("micrograd"):
            within = "n/a"
            if mlp is not None and result.seconds is not None:
                within = report.verdict(result.seconds <= 1.5 * mlp)
            target = f"within 1.5x of nn.MLP: {within}; same gradients: {report.verdict(same)}"
        shown = result.error or report.seconds(result.seconds)
        rows.append(["256", name, shown, report.ratio(result.seconds, mlp), target])
    columns = ["batch", "graph", "forward+gradient", "time / nn.MLP's", "target"]
    print(report.table("W1 traced: a micrograd-shaped graph and nn.MLP", columns, rows))


def _check_moons(engines: dict[str, moons.Engine], rng: np.random.Generator) -> dict[str, str]:
    """Print whether the engines agree on loss and gradients; return the ones that do not."""
    check_weights = moons.random_weights(rng)
    points, labels = moons.make_moons(64, 0.1, rng)
    checked = {name: engines[name] for name in ("micrograd", "ours eager", "ours tape")}
    worst: dict[str, float | str] = {}
    for name, engine in checked.items():
        try:
            worst[name] = moons.disagreement(engine, check_weights, points, labels)
        except Exception as error:  # a crashing engine is reported, and the run goes on
            worst[name] = f"{type(error).__name__}: {error}"
    failed = {
        name: f"check failed: {value:.3g}" if isinstance(value, float) else f"error: {value}"
        for name, value in worst.items()
        if not isinstance(value, float) or value > CHECK_TOLERANCE
    }
    largest = max((v for v in worst.values() if isinstance(v, float)), default=float("nan"))
    verdict = "passed"
    if failed:
        verdict = "FAILED for " + ", ".join(f"{k} ({v})" for k, v in failed.items())
    print(
        f"\nW1 check {verdict}: loss and gradients of {', '.join(checked)} against the numpy "
        "closed form, batch 64, weights loaded through .data after tracing; worst relative "
        f"difference {largest:.2g} (tolerance {CHECK_TOLERANCE:g})."
    )
    return failed


def _moons_target(batch: int, name: str, times: dict[tuple[int, str], float | None]) -> str:
    """The W1 targets, on the rows they are about."""
    mine = times[batch, name]
    if (batch, name) == (64, "ours eager"):
        return "; ".join(
            [
                _speedup_target(times[64, "micrograd"], mine, 10, "micrograd"),
                _speedup_target(times[64, "micrograd, gc off"], mine, 3, "gc off"),
            ]
        )
    if (batch, name) == (256, "ours tape"):
        numpy = times[256, "numpy closed form"]
        within = "n/a" if mine is None or numpy is None else report.verdict(mine <= 3 * numpy)
        return "; ".join(
            [
                _speedup_target(times[256, "micrograd"], mine, 1000, "micrograd"),
                f"within 3x of numpy: {within}",
            ]
        )
    return ""


def _speedup_target(reference: float | None, mine: float | None, factor: float, peer: str) -> str:
    met = "n/a" if reference is None or mine is None else report.verdict(reference >= factor * mine)
    return f">={factor:g}x {peer}: {met}"


def deep_chain(settings: Settings) -> None:
    """W2: x <- tanh(0.5 x + 0.1) n times from a leaf, then backward, each run in a new process."""
    engines = ["micrograd", "ours", "ours, collector paused", "torch 0-d"]
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for n, repeats in settings.chain_repeats.items():
        for repeat in range(repeats):
            shift = repeat % len(engines)
            for engine in engines[shift:] + engines[:shift]:
                done = runs.setdefault((engine, n), [])
                if done and done[-1]["status"] != "ok":
                    continue  # failures are deterministic: one is enough
                done.append(_chain_in_child(engine, n))

    def summary(engine: str, n: int) -> tuple[str, float | None, float | None]:
        done = runs[engine, n]
        if done[-1]["status"] != "ok":
            return done[-1]["status"], None, None
        seconds = statistics.median(r["seconds"] for r in done)
        return "ok", seconds, statistics.median(r["peak_rss_bytes"] for r in done)

    rows = []
    for n in settings.chain_repeats:
        mg, torch = summary("micrograd", n)[1], summary("torch 0-d", n)[1]
        for engine in engines:
            status, seconds, peak = summary(engine, n)
            target = _chain_target(n, status, seconds, torch) if engine == "ours" else ""
            rows.append(
                [
                    f"{n:.0e}",
                    engine,
                    status,
                    report.seconds(seconds),
                    report.size(peak),
                    report.ratio(mg, seconds),
                    report.ratio(torch, seconds),
                    target,
                ]
            )
    if 10**6 not in settings.chain_repeats:
        rows.append(["1e+06", "ours", "not run (--quick)", "-", "-", "-", "-", "passes: n/a"])
    columns = ["n", "engine", "result", "time", "peak RSS growth", "vs micrograd", "vs torch"]
    print(report.table("W2 deep chain: build and backward", [*columns, "target"], rows))
    methods = sorted({run["method"] for done in runs.values() for run in done if "method" in run})
    print(f"peak RSS growth: {' / '.join(_PEAK_METHODS[m] for m in methods)}.")
    print("result ok: x_n and dx_n/dx_0 match a loop in plain floats.")


_PEAK_METHODS = {
    "VmHWM": "VmHWM (reset via /proc/self/clear_refs after a warm-up) minus VmRSS before the run, "
    "in a fresh process per run",
    "ru_maxrss": "ru_maxrss after the run minus ru_maxrss after a warm-up, in a fresh process",
}


def _chain_in_child(engine: str, n: int) -> dict[str, Any]:
    """One W2 run in a fresh interpreter; a crash or timeout becomes the run's status."""
    command = [sys.executable, "-m", "benchmarks.child", engine, str(n)]
    try:
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=CHILD_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        return {"status": f"timeout after {CHILD_TIMEOUT:g} s"}
    if done.returncode != 0:
        cause = f"signal {-done.returncode}" if done.returncode < 0 else f"exit {done.returncode}"
        last = done.stderr.strip().splitlines()[-1:] or [""]
        return {"status": f"crashed ({cause}) {last[0]}".strip()}
    return json.loads(done.stdout)


def _chain_target(n: int, status: str, seconds: float | None, torch: float | None) -> str:
    if n == 10**6:
        return f"passes: {report.verdict(status == 'ok')}"
    if n == 10**5:
        met = "n/a" if seconds is None or torch is None else report.verdict(torch >= 5 * seconds)
        return f">=5x torch: {met}"
    return ""


def wide_sum(settings: Settings) -> None:
    """W3: the sum of 10^5 products a_i * b_i of leaves, then backward."""
    n = settings.wide_n
    cases = {
        "micrograd, builtin sum": graphs.wide_case(MgValue, sum, n),
        "ours, builtin sum": graphs.wide_case(autodiff.Value, sum, n),
        "ours, sum_values": graphs.wide_case(autodiff.Value, autodiff.sum_values, n),
    }
    measured = timing.interleaved(
        {name: run for name, (run, _) in cases.items()}, settings.repeats, settings.min_seconds
    )
    mg = measured["micrograd, builtin sum"].seconds
    rows = []
    for name, result in measured.items():
        status = result.error or _wide_status(cases[name][1])
        shown = report.seconds(result.seconds)
        rows.append([name, status, shown, report.ratio(mg, result.seconds)])
    title = f"W3 wide: sum of {n:.0e} products, build and backward"
    print(report.table(title, ["engine", "result", "time", "vs micrograd"], rows))


def _wide_status(check: Callable[[], float]) -> str:
    error = check()
    return "ok" if error <= 1e-12 else f"wrong grads (max |a.grad - b| = {error:.3g})"


def memory_per_node(settings: Settings) -> None:
    """W4: traced bytes per node of a chain of + and * over existing leaves, no backward."""
    n = settings.memory_n
    mg = graphs.bytes_per_node(MgValue, n)
    mine = graphs.bytes_per_node(autodiff.Value, n)
    target = f"<=1/4 of micrograd: {report.verdict(4 * mine <= mg)}"
    rows = [
        ["micrograd", report.size(mg), "1x", ""],
        ["ours", report.size(mine), report.ratio(mg, mine) + " smaller", target],
    ]
    title = f"W4 memory: tracemalloc bytes per node, chain of {n:.0e} binary ops"
    print(report.table(title, ["engine", "bytes/node", "vs micrograd", "target"], rows))


def digits_fit(settings: Settings) -> None:
    """W5: nn.fit against scikit-learn's MLPClassifier, the same training on the digits."""
    title = "W5 digits: MLP(64, [32, 10]), Adam, batch 32, 20 epochs; one whole fit call"
    columns = ["engine", "time/fit", "test accuracy", "vs scikit-learn", "target"]
    try:
        split = digits.load_split()
    except peers.Unavailable as missing:
        print(report.table(title, columns, [["scikit-learn", str(missing), "-", "-", ""]]))
        return
    runs = {"nn.fit": digits.ours(split), "scikit-learn MLPClassifier": digits.scikit_learn(split)}
    measured = timing.interleaved(runs, settings.repeats, settings.min_seconds)
    accuracy = {name: run() for name, run in runs.items()}  # both runs are seeded
    theirs = measured["scikit-learn MLPClassifier"].seconds
    rows = []
    for name, result in measured.items():
        target = ""
        if name == "nn.fit":
            target = _digits_target(result.seconds, theirs, accuracy)
        shown = result.error or report.seconds(result.seconds)
        rows.append(
            [name, shown, f"{accuracy[name]:.1%}", report.ratio(theirs, result.seconds), target]
        )
    print(report.table(title, columns, rows))


def _digits_target(mine: float | None, theirs: float | None, accuracy: dict[str, float]) -> str:
    if mine is None or theirs is None:
        return "at most as slow as scikit-learn: n/a"
    as_good = accuracy["nn.fit"] >= accuracy["scikit-learn MLPClassifier"]
    return (
        f"at most as slow (time ratio {mine / theirs:.2f}): {report.verdict(mine <= theirs)}; "
        f"accuracy as good: {report.verdict(as_good)}"
    )


WORKLOADS: dict[str, Callable[[Settings], None]] = {
    "W1": moons_step,
    "W2": deep_chain,
    "W3": wide_sum,
    "W4": memory_per_node,
    "W5": digits_fit,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, chains up to 1e5")
    parser.add_argument("--only", default=",".join(WORKLOADS), help="e.g. W1,W3")
    args = parser.parse_args(argv)
    chosen = [key.strip().upper() for key in args.only.split(",") if key.strip()]
    unknown = [key for key in chosen if key not in WORKLOADS]
    if unknown:
        valid = ", ".join(WORKLOADS)
        parser.error(f"--only: unknown workload {', '.join(unknown)} (valid: {valid})")
    settings = QUICK if args.quick else FULL
    print(report.header())
    print(
        f"timing    median of {settings.repeats} interleaved repeats after a warm-up, each repeat "
        f">= {settings.min_seconds:g} s; ratios are peer time / engine time (higher is better)"
    )
    for key in chosen:
        WORKLOADS[key](settings)


if __name__ == "__main__":
    main()
