"""A scalar automatic-differentiation engine, small enough to read in one sitting.

Where to start reading: `ops.py`, the table of operations (find the row `MUL`: its value and its
local derivatives side by side); `value.py`, where `Value.__mul__` records a node that remembers
its op and parents; `backward.py`, where `backward` sweeps the graph once and applies the chain
rule (`grads[parent] += local * grad`). Around it: `grad` and `value_and_grad` for functions of
plain numbers (nestable for higher derivatives), `no_grad`, `gradcheck` against finite
differences, and `trace`, which records a graph once and replays it over numpy batches.
"""

from autodiff.backward import gradient_map, topological_order
from autodiff.collector import collector_paused
from autodiff.functional import grad, gradients, no_grad, value_and_grad
from autodiff.gradcheck import GradcheckError, check_gradient, gradcheck
from autodiff.nary import linear, logsumexp, softmax_ce, sum_values
from autodiff.op import Op, local_derivatives
from autodiff.ops import OPS
from autodiff.tape import Tape, trace
from autodiff.value import Value

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
    "gradient_map",
    "gradients",
    "linear",
    "local_derivatives",
    "logsumexp",
    "no_grad",
    "softmax_ce",
    "sum_values",
    "topological_order",
    "trace",
    "value_and_grad",
]
