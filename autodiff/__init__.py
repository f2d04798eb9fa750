"""A scalar automatic-differentiation engine.

`Value` records each operation with its local derivative; `backward()` applies the chain rule
in reverse topological order. Around it: `grad` and `value_and_grad` for functions of plain
numbers (nestable for higher derivatives), `no_grad`, `gradcheck` against finite differences.
"""

from autodiff.backward import collector_paused, gradients, local_derivatives, topological_order
from autodiff.functional import grad, no_grad, value_and_grad
from autodiff.gradcheck import GradcheckError, check_gradient, gradcheck
from autodiff.ops import OPS, Op
from autodiff.tape import Tape, trace
from autodiff.value import Value, linear, logsumexp, sum_values

__all__ = [
    "OPS",
    "GradcheckError",
    "Op",
    "Tape",
    "Value",
    "check_gradient",
    "collector_paused",
    "grad",
    "gradcheck",
    "gradients",
    "linear",
    "local_derivatives",
    "logsumexp",
    "no_grad",
    "sum_values",
    "topological_order",
    "trace",
    "value_and_grad",
]
