"""Pictures and words for a graph: graphviz drawings and step-by-step chain-rule derivations.

`draw_graph(root)` (alias `draw_dot`) returns a graphviz Digraph of everything `root` depends on;
`render` writes one to a file and says how to install `dot` when it is missing. `explain(root,
wrt)` writes d(root)/d(wrt) path by path, as text (`str`) or Markdown with LaTeX (`.markdown()`).
`worked_example(model, x, target)` writes one forward and backward pass of an MLP as the notes
do, and its `.check(claims)` finds where a learner's own derivation first went wrong;
`check_values(root, claims)` does the same for claimed data and grads of any graph.
`find(root, label)` gets a node by its label, or by the name both print (`x[0]#2`, `t3`), e.g.
to read an intermediate gradient. `backward_steps(root)` lists the backward sweep node by node,
as a text or Markdown table, and `page(root)` plays it on the drawn graph in a browser. All
of them only read the graph.
"""

from viz._names import find
from viz.derivation_check import CheckReport, Slip, check_values
from viz.draw import DotNotFoundError, draw_dot, draw_graph, render
from viz.explain import ChainPath, Derivation, Factor, Group, explain
from viz.page import Page, page
from viz.steps import BackwardSteps, Contribution, Step, backward_steps
from viz.worked import WorkedExample, worked_example

__all__ = [
    "BackwardSteps",
    "ChainPath",
    "CheckReport",
    "Contribution",
    "Derivation",
    "DotNotFoundError",
    "Factor",
    "Group",
    "Page",
    "Slip",
    "Step",
    "WorkedExample",
    "backward_steps",
    "check_values",
    "draw_dot",
    "draw_graph",
    "explain",
    "find",
    "page",
    "render",
    "worked_example",
]
