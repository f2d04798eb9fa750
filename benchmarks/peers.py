"""Finding the engines a run can measure, and the one op micrograd 0.1.0 lacks (tanh)."""

from __future__ import annotations

import math
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType

from micrograd.engine import Value as MgValue


class Unavailable(Exception):
    """An engine that cannot run here; the message says why and becomes the row's result."""


def ours() -> ModuleType:
    """Our `autodiff` package, or Unavailable while it is not importable yet."""
    try:
        import autodiff

        autodiff.Value  # noqa: B018 -- the package may exist before its public names do
    except (ImportError, AttributeError) as error:
        raise Unavailable(f"autodiff not ready ({type(error).__name__}: {error})") from error
    return autodiff


def ours_nn() -> ModuleType:
    """Our `nn` package (with autodiff importable), or Unavailable."""
    ours()
    try:
        import nn

        nn.MLP  # noqa: B018
        nn.SGD  # noqa: B018
    except (ImportError, AttributeError) as error:
        raise Unavailable(f"nn not ready ({type(error).__name__}: {error})") from error
    return nn


def ours_trace() -> ModuleType:
    """Our `autodiff` package when it has `trace`, else Unavailable."""
    autodiff = ours()
    if not hasattr(autodiff, "trace"):
        raise Unavailable("autodiff.trace not there yet")
    return autodiff


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
