"""Pictures and words for a graph: graphviz drawings and step-by-step chain-rule derivations.

`draw_graph(root)` (alias `draw_dot`) returns a graphviz Digraph of everything `root` depends on;
`render` writes one to a file and says how to install `dot` when it is missing. `explain(root,
wrt)` writes d(root)/d(wrt) path by path, as text (`str`) or Markdown with LaTeX (`.markdown()`).
Both only read the graph.
"""

from viz.draw import DotNotFoundError, draw_dot, draw_graph, render
from viz.explain import ChainPath, Derivation, Factor, Group, explain
from viz.page import Page, page

__all__ = [
    "ChainPath",
    "Derivation",
    "DotNotFoundError",
    "Factor",
    "Group",
    "Page",
    "draw_dot",
    "draw_graph",
    "explain",
    "page",
    "render",
]
