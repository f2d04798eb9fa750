"""Pictures and words for a graph: graphviz drawings and step-by-step chain-rule derivations."""
