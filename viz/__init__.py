"""Pictures and words for a graph: graphviz drawings and step-by-step chain-rule derivations.

`draw_graph(root)` (alias `draw_dot`) returns a graphviz Digraph of everything `root` depends on;
`render` writes one to a file and says how to install `dot` when it is missing. `explain(root,
wrt)` writes d(root)/d(wrt) path by path, as text (`str`) or Markdown with LaTeX (`.markdown()`).
`backward_steps(root)` lists the backward sweep node by node, as a text or Markdown table.
All of them only read the graph.
"""

from viz.draw import DotNotFoundError, draw_dot, draw_graph, render
from viz.explain import ChainPath, Derivation, Factor, Group, explain
from viz.page import Page, page
from viz.steps import BackwardSteps, Contribution, Step, backward_steps

__all__ = [
    "BackwardSteps",
    "ChainPath",
    "Contribution",
    "Derivation",
    "DotNotFoundError",
    "Factor",
    "Group",
    "Page",
    "Step",
    "backward_steps",
    "draw_dot",
    "draw_graph",
    "explain",
    "page",
    "render",
]
