"""Losses as plain functions: Values (and numbers for targets) in, one scalar Value out.

Outputs and targets are flat sequences of equal length (a single Value and a single number are
read as sequences of one), except for softmax cross-entropy, which takes one vector of logits or
a batch of them. Each covers a convention of the derivations this project grew from:
`half_sse` is the seeds' E = 1/2 Σ (y - t)², `binary_cross_entropy` their J averaged over m
samples, `softmax_cross_entropy` the softmax output of seed 002, `hinge_loss` micrograd's.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from autodiff import Value, checks, logsumexp, softmax_ce, sum_values

Vector = Sequence[Value | float] | np.ndarray
"""A flat sequence of Values or numbers, or a numpy array of numbers."""
Scalars = Value | float | Vector
"""Outputs or targets: one Value or number, or a Vector of them."""

EPS = 1e-12  # binary_cross_entropy reads log(p + EPS): finite at p = 0, slope 1/(p + EPS)
_LOG_ONE = math.log(1.0 + EPS)  # subtracted, so a perfect p = 1 with t = 1 costs exactly 0


def _as_list(x: Any) -> list[Any]:
    """A sequence or numpy array as a list; one Value or number as a list of one."""
    return [x] if isinstance(x, Value | numbers.Real) else list(x)


def _is_vector(x: Any) -> bool:
    return isinstance(x, Sequence | np.ndarray) and not isinstance(x, str)


def _pairs(outputs: Any, targets: Any, where: str) -> tuple[list[Value], list[Any]]:
    ys = [y if isinstance(y, Value) else Value(y) for y in _as_list(outputs)]
    ts = _as_list(targets)
    if len(ys) != len(ts):
        raise ValueError(
            f"{where}: outputs and targets must have the same length "
            f"(got {len(ys)} outputs and {len(ts)} targets)"
        )
    if not ys:
        raise ValueError(f"{where}: expected at least one output (got none)")
    return ys, ts


def _numbers_or_values(targets: list[Any], where: str) -> list[Any]:
    """Targets as checked floats; Values pass as they are (a traced batch's target columns)."""
    return [
        t if isinstance(t, Value) else checks.number(t, f"{where}: targets[{i}]")
        for i, t in enumerate(targets)
    ]


def _unit_targets(targets: list[Any], where: str) -> list[Any]:
    ts = _numbers_or_values(targets, where)
    for i, t in enumerate(ts):
        if not isinstance(t, Value) and not 0.0 <= t <= 1.0:
            raise ValueError(f"{where}: targets must lie in [0, 1] (got {t} at position {i})")
    return ts


def half_sse(outputs: Scalars, targets: Scalars) -> Value:
    """E = 1/2 Σ (y - t)²: the seeds' loss, whose derivative dE/dy = y - t has no factor 2."""
    ys, ts = _pairs(outputs, targets, "half_sse")
    ts = _numbers_or_values(ts, "half_sse")
    loss = 0.5 * sum_values([(y - t) ** 2 for y, t in zip(ys, ts, strict=True)])
    loss.label = "E"
    return loss


def mse(outputs: Scalars, targets: Scalars, reduction: str = "mean") -> Value:
    """Σ (y - t)² divided by the count (`reduction="mean"`) or not (`"sum"`)."""
    if reduction not in ("mean", "sum"):
        raise ValueError(f"mse: reduction must be 'mean' or 'sum' (got {reduction!r})")
    ys, ts = _pairs(outputs, targets, "mse")
    ts = _numbers_or_values(ts, "mse")
    loss = sum_values([(y - t) ** 2 for y, t in zip(ys, ts, strict=True)])
    if reduction == "mean":
        loss = loss / len(ys)
    loss.label = "MSE"
    return loss


def _safe_log(v: Value) -> Value:
    """log((v + EPS)/(1 + EPS)): smooth, finite at v = 0, 0 at v = 1, slope 1/(v + EPS).

    Unlike clamping v at EPS (slope 0 below it), a confidently wrong p far below EPS still
    gets a slope near 1/EPS, and nothing branches on `.data`, so it traces as it runs.
    """
    return (v + EPS).log() - _LOG_ONE


def binary_cross_entropy(probs: Scalars, targets: Scalars) -> Value:
    """J = -1/m Σ [t log p + (1 - t) log(1 - p)] from probabilities p in [0, 1].

    A term whose target weight is 0 is left out. Each log reads p + ε (and 1 - p + ε), ε = 1e-12,
    so a saturated p costs at most -log ε ≈ 27.6, and dJ/dp = -(t/(p + ε) - (1-t)/(1 - p + ε))/m
    stays finite yet never 0 for a wrong p: about 1/(m·max(p, ε)), the size of PyTorch's slope
    (PyTorch instead clamps each log at -100 and the slope's denominator p(1 - p) at 1e-12).
    From logits, `binary_cross_entropy_with_logits` is exact everywhere.
    """
    where = "binary_cross_entropy"
    ps, ts = _pairs(probs, targets, where)
    ts = _unit_targets(ts, where)
    terms = []
    for i, (p, t) in enumerate(zip(ps, ts, strict=True)):
        if isinstance(p.data, float) and not 0.0 <= p.data <= 1.0:
            raise ValueError(
                f"{where}: probabilities must lie in [0, 1] (got {p.data} at position {i}); "
                "for raw scores use binary_cross_entropy_with_logits"
            )
        if isinstance(t, Value):
            terms.append(t * _safe_log(p) + (1.0 - t) * _safe_log(1.0 - p))
            continue
        if t > 0.0:
            terms.append(_safe_log(p) if t == 1.0 else t * _safe_log(p))
        if t < 1.0:
            q = 1.0 - p
            terms.append(_safe_log(q) if t == 0.0 else (1.0 - t) * _safe_log(q))
    loss = sum_values(terms) * (-1.0 / len(ps))
    loss.label = "J"
    return loss


def binary_cross_entropy_with_logits(logits: Scalars, targets: Scalars) -> Value:
    """J = 1/m Σ [softplus(z) - t z], the same as BCE of sigmoid(z), stable for any z.

    log σ(z) = -softplus(-z) and log(1 - σ(z)) = -softplus(z); softplus never overflows, and
    dJ/dz = (σ(z) - t)/m, the seeds' dz = a - y.
    """
    where = "binary_cross_entropy_with_logits"
    zs, ts = _pairs(logits, targets, where)
    ts = _unit_targets(ts, where)
    terms = []
    for z, t in zip(zs, ts, strict=True):
        if isinstance(t, Value) or 0.0 < t < 1.0:
            terms.append(z.softplus() - t * z)
        elif t == 0.0:
            terms.append(z.softplus())
        else:
            terms.append((-z).softplus())
    loss = sum_values(terms) / len(zs)
    loss.label = "J"
    return loss


_HALF_FLOOR = -1000.0  # half-gaps held above this: exp(2 * -1000) is 0.0 in floats anyway


def _shifted(zs: list[Value]) -> tuple[list[Value], Value]:
    """The logits shifted below L = logsumexp(z), in the form softmax needs.

    Returns (gaps, rest): gaps[i] = z_i - L, computed as twice (z_i - L)/2, which is exact and
    never overflows however far apart the logits are, and floored where exp of it is 0.0
    anyway; and rest = logsumexp(gaps). Then softmax_i = exp(gaps[i] - rest). One shift is not
    enough: L is rounded, and for logits near 1e16 that rounding is larger than log 2, so
    z_i - L alone loses the answer. The second shift by
    `rest` (a number within log(n) of 0, computed precisely) gives back what the rounding of L
    took. Every step is an ordinary node, so the gradient is exact as well.
    """
    top = logsumexp(zs)
    half_top = top * 0.5
    halves = [z * 0.5 - half_top for z in zs]
    gaps = [h.clamp(_HALF_FLOOR, 0.0) * 2.0 for h in halves]
    return gaps, logsumexp(gaps)


def softmax(logits: Vector) -> list[Value]:
    """exp(z_i) / Σ exp(z_j), computed from shifted logits so nothing overflows or rounds away."""
    zs = [z if isinstance(z, Value) else Value(z) for z in logits]
    gaps, rest = _shifted(zs)
    return [(gap - rest).exp() for gap in gaps]


def _class_weights(target: Any, n: int, where: str) -> list[Any]:
    """A target as a probability vector over n classes: a class index or the vector itself."""
    if isinstance(target, numbers.Integral) and not isinstance(target, bool | np.bool_):
        index = int(target)
        if not 0 <= index < n:
            raise ValueError(f"{where} must be a class index in 0..{n - 1} (got {index})")
        return [1.0 if k == index else 0.0 for k in range(n)]
    if not _is_vector(target):
        raise ValueError(
            f"{where} must be a class index or {n} probabilities (got {type(target).__name__})"
        )
    weights = _unit_targets(list(target), where)
    if len(weights) == n and any(isinstance(w, Value) for w in weights):
        return weights  # a traced batch's target columns: checked by whoever fills them
    if len(weights) != n or abs(sum(weights) - 1.0) > 1e-9:
        raise ValueError(
            f"{where} must be {n} probabilities summing to 1 "
            f"(got {len(weights)} summing to {sum(weights):.6g})"
        )
    return weights


def _one_softmax_ce(logits: Sequence[Any], target: Any, where: str) -> Value:
    zs = [z if isinstance(z, Value) else Value(z) for z in logits]
    if not zs:
        raise ValueError(f"{where}: expected at least one logit (got none)")
    return softmax_ce(zs, _class_weights(target, len(zs), f"{where}: target"))


def softmax_cross_entropy(
    logits: Vector | Sequence[Vector], targets: int | Vector | Sequence[int | Vector]
) -> Value:
    """-Σ t_k log softmax(z)_k = logsumexp(z) - z_target, for one sample or the mean of a batch.

    `logits` is one vector of Values with `targets` a class index or a probability vector, or a
    list of such vectors with one target each. dL/dz = softmax(z) - t, the seeds' y - t.
    Each sample is one `softmax_ce` node, exact for any logits: [1e16, 1e16] against class 0
    costs log 2.
    """
    where = "softmax_cross_entropy"
    rows = _as_list(logits)
    if rows and all(_is_vector(r) for r in rows):
        ts = _as_list(targets)
        if len(ts) != len(rows):
            raise ValueError(
                f"{where}: logits and targets must have the same length "
                f"(got {len(rows)} rows of logits and {len(ts)} targets)"
            )
        pairs = enumerate(zip(rows, ts, strict=True))
        parts = [_one_softmax_ce(r, t, f"{where}[{i}]") for i, (r, t) in pairs]
        loss = sum_values(parts) / len(parts)
    else:
        loss = _one_softmax_ce(rows, targets, where)
    loss.label = "L"
    return loss


def hinge_loss(scores: Scalars, targets: Scalars) -> Value:
    """micrograd's max-margin loss: the mean of relu(1 - t·s) for labels t in {-1, +1}."""
    where = "hinge_loss"
    ss, ts = _pairs(scores, targets, where)
    labels = _numbers_or_values(ts, where)
    for i, t in enumerate(labels):
        if not isinstance(t, Value) and t not in (-1.0, 1.0):
            raise ValueError(
                f"{where}: targets must be -1 or +1 (got {t} at position {i}); "
                "for 0/1 labels pass 2*y - 1"
            )
    loss = sum_values([(1.0 - t * s).relu() for s, t in zip(ss, labels, strict=True)]) / len(ss)
    loss.label = "hinge"
    return loss


max_margin_loss = hinge_loss
