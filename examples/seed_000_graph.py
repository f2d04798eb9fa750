"""Seed 000 end to end: a 1-2-2 sigmoid network, its loss, backward, its graph, two derivations.

    python examples/seed_000_graph.py --out out

prints the forward numbers, the loss L = 1/2 Σ (a2 - y)² and every gradient, to set beside the
seed's hand derivation; writes the graph as SVG and PNG (and an SVG with the paths from W1[0,0]
highlighted); and writes `explain` for W1[0,0] and W2[0,1] as Markdown files, which read like
the seed's chain of factors δ2 = (a2 - y) ⊙ σ'(z2), δ1 = W2ᵀ δ2 ⊙ σ'(z1).
The network is built with `nn.MLP.from_weights`. With `--values` it is written out by hand
instead, one `autodiff.linear` node z = W x + b and one sigmoid per unit: what `nn` does inside,
shown in a dozen lines. The numbers, the graph and the derivations are the same either way.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nn
from autodiff import Value, linear, topological_order
from viz import DotNotFoundError, draw_graph, explain, render

from cli import prepare_output, script_parser

X = [1.0]
W1 = [[0.2], [-0.3]]
B1 = [0.1, 0.1]
W2 = [[0.4, -0.5], [0.3, 0.8]]
B2 = [0.2, -0.1]
Y = [1.0, 0.0]


def build_with_nn(x: list[Value]) -> Value:
    """The seed's network from `nn.MLP.from_weights`, and its loss."""
    model = nn.MLP.from_weights([W1, W2], [B1, B2], activation="sigmoid")
    return nn.half_sse(model(x), Y)


def build_with_values(x: list[Value]) -> Value:
    """The seed's network written out: z = W x + b as one `linear` node, a = σ(z); its loss."""
    layer_input = x
    for layer, (weights, biases) in enumerate([(W1, B1), (W2, B2)], 1):
        outputs = []
        for j, (row, bias) in enumerate(zip(weights, biases, strict=True)):
            w = [Value(v, label=f"W{layer}[{j},{k}]") for k, v in enumerate(row)]
            z = linear(w, layer_input, Value(bias, label=f"b{layer}[{j}]"))
            z.label = f"z{layer}[{j}]"
            a = z.sigmoid()
            a.label = f"a{layer}[{j}]"
            outputs.append(a)
        layer_input = outputs
    return nn.half_sse(layer_input, Y)


def _vector(values: list[Any]) -> str:
    return "[" + ", ".join(f"{v:.4g}" for v in values) + "]"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the example; returns the loss, the Values by label, the derivations and the files."""
    parser = script_parser(__file__, __doc__)
    parser.add_argument("--out", type=Path, default=Path("out"), help="folder for the files")
    parser.add_argument(
        "--values",
        action="store_true",
        help="write the network out from Values and autodiff.linear, as nn does inside",
    )
    args = parser.parse_args(argv)
    prepare_output(args.out, parser.prog)

    x = [Value(v, label=f"x[{k}]") for k, v in enumerate(X)]
    if args.values:
        loss, built_with = build_with_values(x), "autodiff Values"
    else:
        loss, built_with = build_with_nn(x), "nn.MLP.from_weights"
    loss.label = "L"  # the seed's name for the loss
    loss.backward()
    nodes = {v.label: v for v in topological_order(loss) if v.label}

    def row(name: str, n: int) -> list[float]:
        return [nodes[f"{name}[{j}]"].data for j in range(n)]

    def grads(name: str, shape: tuple[int, ...]) -> str:
        if len(shape) == 1:
            return _vector([nodes[f"{name}[{j}]"].grad for j in range(shape[0])])
        rows = [[nodes[f"{name}[{j},{k}]"].grad for k in range(shape[1])] for j in range(shape[0])]
        return "[" + ", ".join(_vector(r) for r in rows) + "]"

    print(f"Seed 000: a 1-2-2 sigmoid network, L = 1/2 Σ (a2 - y)², built with {built_with}")
    print("forward")
    print(f"  z1 = {_vector(row('z1', 2))}    a1 = σ(z1) = {_vector(row('a1', 2))}")
    print(f"  z2 = {_vector(row('z2', 2))}    a2 = σ(z2) = {_vector(row('a2', 2))}")
    print(f"  L  = {loss.data:.4f}")
    print("backward")
    print(f"  dL/dW2 = {grads('W2', (2, 2))}    dL/db2 = {grads('b2', (2,))}")
    print(f"  dL/dW1 = {grads('W1', (2, 1))}    dL/db1 = {grads('b1', (2,))}")

    out: Path = args.out
    derivations = {name: explain(loss, nodes[name]) for name in ("W1[0,0]", "W2[0,1]")}
    files = []
    for name, derivation in derivations.items():
        path = out / f"seed_000_dL_d{name.replace('[', '_').replace(',', '_').rstrip(']')}.md"
        path.write_text(derivation.markdown(), encoding="utf-8")
        files.append(path)
    print()
    print(derivations["W1[0,0]"])
    print()

    graph = draw_graph(loss)
    (out / "seed_000_graph.gv").write_text(graph.source, encoding="utf-8")
    files.append(out / "seed_000_graph.gv")
    status = 0
    try:
        files.append(render(graph, out / "seed_000_graph.svg"))
        files.append(render(graph, out / "seed_000_graph.png"))
        lit = draw_graph(loss, highlight=nodes["W1[0,0]"])
        files.append(render(lit, out / "seed_000_graph_W1_0_0.svg"))
    except DotNotFoundError as error:
        print(error, file=sys.stderr)
        status = 1
    print("wrote " + ", ".join(str(f) for f in files))
    return {
        "loss": loss,
        "nodes": nodes,
        "derivations": derivations,
        "files": files,
        "built_with": built_with,
        "status": status,
    }


if __name__ == "__main__":
    sys.exit(main()["status"])
