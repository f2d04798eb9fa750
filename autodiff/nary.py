"""Ops of many inputs recorded as one node each: long sums, logsumexp, a neuron's sum and
softmax cross-entropy."""

from __future__ import annotations

from typing import Any

from autodiff import ops
from autodiff.op import Op
from autodiff.value import Value, apply, lift


def sum_values(values: Any) -> Value:
    """The sum of many Values (or numbers) as one node: flat, however many terms."""
    terms = _values(values, ops.SUM)
    if not terms:
        raise ValueError("sum_values: expected at least one term, got none")
    return apply(ops.SUM, terms)


def logsumexp(values: Any) -> Value:
    """log Σ exp(v) as one node, computed stably: the heart of softmax cross-entropy."""
    terms = _values(values, ops.LOGSUMEXP)
    if not terms:
        raise ValueError("logsumexp: expected at least one term, got none")
    return apply(ops.LOGSUMEXP, terms)


def linear(weights: Any, inputs: Any, bias: Value | float = 0.0) -> Value:
    """b + Σ w_i·x_i as one node: a neuron's weighted sum, the seeds' z = w·x + b."""
    ws = _values(weights, ops.LINEAR)
    xs = _values(inputs, ops.LINEAR)
    if len(ws) != len(xs):
        raise ValueError(
            f"linear: expected as many weights as inputs, got {len(ws)} weights "
            f"and {len(xs)} inputs"
        )
    return apply(ops.LINEAR, (*ws, *xs, lift(bias, ops.LINEAR)))


def softmax_ce(logits: Any, targets: Any) -> Value:
    """Σ_k t_k (logsumexp(z) - z_k), the cross-entropy of softmax(z) against weights t, as one
    node; exact for any logits, with gradient softmax(z)·Σt - t (softmax - t when Σt = 1)."""
    zs = _values(logits, ops.SOFTMAX_CE)
    ts = _values(targets, ops.SOFTMAX_CE)
    if not zs:
        raise ValueError("softmax_ce: logits must hold at least one number (got none)")
    if len(ts) != len(zs):
        raise ValueError(
            f"softmax_ce: targets must be one weight per logit, {len(zs)} "
            f"(got {len(ts)} targets for {len(zs)} logits)"
        )
    return apply(ops.SOFTMAX_CE, (*zs, *ts))


def _values(items: Any, op: Op) -> tuple[Value, ...]:
    """The items as a tuple of Values, plain numbers made constant leaves."""
    terms = tuple(items)
    if set(map(type, terms)) <= {Value}:  # the usual case, checked at C speed
        return terms
    return tuple(lift(term, op) for term in terms)
