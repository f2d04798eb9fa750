"""W2-W4: graph shapes that stress an engine: a deep chain, a wide sum, many small nodes."""

from __future__ import annotations

import contextlib
import gc
import math
import random
import tracemalloc
from collections.abc import Callable, Sequence
from typing import Any

from micrograd.engine import Value as MgValue

import autodiff
from benchmarks import peers

CHAIN_START = 0.3


def chain_expected(n: int) -> tuple[float, float]:
    """x_n and d x_n / d x_0 for x <- tanh(0.5 x + 0.1) in plain floats: every engine's oracle."""
    x, grad = CHAIN_START, 1.0
    for _ in range(n):
        x = math.tanh(0.5 * x + 0.1)
        grad *= 0.5 * (1.0 - x * x)
    return x, grad


def chain_runner(engine: str) -> Callable[[int], tuple[float, float]]:
    """Builds the chain of length n in `engine`, backpropagates, returns x_n and dx_n/dx_0.

    Raises peers.Unavailable for torch when it is not installed.
    """
    if engine == "micrograd":

        def run(n: int) -> tuple[float, float]:
            leaf = x = MgValue(CHAIN_START)
            for _ in range(n):
                x = peers.micrograd_tanh(0.5 * x + 0.1)
            x.backward()
            return float(x.data), float(leaf.grad)

    elif engine in ("ours", "ours, collector paused"):
        # the second row builds inside the opt-in for very large graphs
        paused = engine == "ours, collector paused"

        def run(n: int) -> tuple[float, float]:
            with autodiff.collector_paused() if paused else contextlib.nullcontext():
                leaf = x = autodiff.Value(CHAIN_START)
                for _ in range(n):
                    x = (0.5 * x + 0.1).tanh()
                x.backward()
            return float(x.data), float(leaf.grad)

    elif engine == "torch 0-d":
        torch = peers.torch_module()

        def run(n: int) -> tuple[float, float]:
            leaf = x = torch.tensor(CHAIN_START, dtype=torch.float64, requires_grad=True)
            for _ in range(n):
                x = torch.tanh(0.5 * x + 0.1)
            x.backward()
            return x.item(), leaf.grad.item()

    else:
        raise ValueError(f"unknown chain engine {engine!r}")
    return run


def wide_case(
    leaf: Callable[[float], Any], total: Callable[[Sequence[Any]], Any], n: int, seed: int = 0
) -> tuple[Callable[[], None], Callable[[], float]]:
    """The sum of n products a_i * b_i over leaves made off the clock.

    Returns the timed run (build, backward) and a check giving the largest |a_i.grad - b_i.data|
    of one fresh run, which must be 0 up to rounding.
    """
    rng = random.Random(seed)
    a = [leaf(rng.uniform(-1.0, 1.0)) for _ in range(n)]
    b = [leaf(rng.uniform(-1.0, 1.0)) for _ in range(n)]

    def run() -> None:
        total([x * y for x, y in zip(a, b, strict=True)]).backward()

    def check() -> float:
        for x in a:
            x.grad = 0.0
        run()
        return max(abs(x.grad - y.data) for x, y in zip(a, b, strict=True))

    return run, check


def bytes_per_node(leaf: Callable[[float], Any], n: int, seed: int = 0) -> float:
    """Traced bytes per op node of a chain of n alternating + and * over leaves made beforehand.

    No backward is run, so micrograd's count holds its closures but no grads written back.
    """
    rng = random.Random(seed)
    leaves = [leaf(rng.uniform(0.5, 1.5)) for _ in range(n + 1)]
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        x = leaves[0]
        for i, other in enumerate(leaves[1:]):
            x = x * other if i % 2 else x + other
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    return used / n
