"""The peers: torch if installed, the versions of all of them, and micrograd's missing tanh."""

from __future__ import annotations

import math
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType

from micrograd.engine import Value as MgValue


class Unavailable(Exception):
    """An optional peer (torch) that cannot run here; the message becomes the row's result."""


def torch_module() -> ModuleType:
    """torch, or Unavailable: it is optional."""
    try:
        import torch
    except ImportError as error:
        raise Unavailable("torch not installed") from error
    return torch


def versions() -> dict[str, str]:
    """Installed versions of numpy and the peers, read without importing them (torch is slow)."""
    found = {}
    for name in ("numpy", "micrograd", "torch"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def micrograd_tanh(x: MgValue) -> MgValue:
    """tanh written the way micrograd writes its ops (a closure per node), as in its lecture."""
    t = math.tanh(x.data)
    out = MgValue(t, (x,), "tanh")

    def _backward() -> None:
        x.grad += (1 - t * t) * out.grad

    out._backward = _backward
    return out
