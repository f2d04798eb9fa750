"""Train a small network on two moons, then draw what it learned and how one neuron computes.

    python examples/train_moons.py [--epochs 100] [--samples 200] [--out out]

The data are generated here (two interleaving half circles, seeded). An MLP(2, [16, 16, 1])
with relu hidden layers learns to separate them with micrograd's max-margin loss, trained by
`nn.fit` through the batched tape. Written to `--out`:

- `decision_boundary.png` and `loss_curve.png` (need matplotlib: `pip install -e ".[plots]"`);
- `neuron.svg`: the graph of one first-layer unit's computation on the training point with the
  smallest margin y·score, each value with the gradient that point's hinge loss sent back to it
  (of its score instead, if even that point is past the margin); the unit drawn is an active
  one, so the gradients are not 0. Needs graphviz's `dot` program.
- `backprop.html`: the same unit as a page to open in a browser, which plays its forward pass
  and its backward sweep step by step (self-contained: it works offline). Needs `dot` too.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import nn
import viz
from autodiff import topological_order

from cli import (
    OneLineParser,
    plot_history,
    positive_int,
    prepare_output,
    pyplot_or_reason,
    random_seed,
    script_parser,
)


def command_line() -> OneLineParser:
    parser = script_parser(__file__, __doc__)
    parser.add_argument("--epochs", type=positive_int, default=100)
    parser.add_argument("--samples", type=positive_int, default=200, help="points in the data")
    parser.add_argument("--batch-size", type=positive_int, default=32)
    parser.add_argument("--seed", type=random_seed, default=0)
    parser.add_argument("--out", type=Path, default=Path("out"), help="folder for the pictures")
    parser.add_argument("--no-progress", action="store_true", help="no progress line")
    return parser


def neuron_picture(model: nn.MLP, X: np.ndarray, y: np.ndarray, path: Path, page_path: Path) -> str:
    """Draw a first-layer unit on the training point with the smallest margin, with gradients,
    and write the page that steps through its backward sweep.

    That point (smallest y·score) is the one the network is least sure of. The gradients drawn
    are those of its hinge loss max(0, 1 - y·score), or of its score when even that point is
    past the margin (its loss, and every gradient of the loss, would be 0). The unit is the
    active one (z > 0) through which the most gradient flows: an inactive relu passes back 0.
    """
    i = int(np.argmin(y * nn.predict(model, X)))
    score = model(X[i].tolist())
    loss = nn.hinge_loss([score], [float(y[i])])
    if loss.data > 0:
        root, of = loss, "that point's hinge loss max(0, 1 - y·score)"
    else:
        root, of = score, "the network's score on that point"
    model.zero_grad()
    root.backward()
    nodes = {node.label: node for node in topological_order(root) if node.label}
    active = [nodes[f"a1[{j}]"] for j in range(model.nouts[0]) if nodes[f"z1[{j}]"].data > 0]
    if not active:
        return f"skipped {path.name}: no first-layer unit is active on training point {i}"
    unit = max(active, key=lambda a: abs(a.grad))
    caption = (
        f"unit {unit.label} on training point {i} (label {y[i]:+.0f}, score {score.data:.3f})\n"
        f"grad: the derivative of {of} with respect to the value in its box\n"
        "(x[0] and x[1] feed every unit of the layer: their grads add up all those paths)"
    )
    graph = viz.draw_graph(unit)
    graph.attr(label=caption, labelloc="t", fontsize="11")
    said = f"unit {unit.label} on training point {i}, with the gradients of {of}"
    try:
        written = viz.render(graph, path)
    except viz.DotNotFoundError:
        source = path.with_suffix(".gv")
        source.write_text(graph.source)
        return (
            f"skipped {path.name} and {page_path.name} (graphviz's `dot` is not installed); "
            f"wrote {source}: {said}"
        )
    page = viz.page(unit, page_path)
    return (
        f"wrote {written}: {said}\n"
        f"wrote {page.path}: {unit.label}'s forward pass and backward sweep, step by step"
    )


def plots(model: nn.MLP, X: np.ndarray, y: np.ndarray, history: nn.History, out: Path) -> str:
    """The loss curve and the decision boundary as PNG files, if matplotlib is there."""
    plt, reason = pyplot_or_reason()
    if plt is None:
        return reason
    plot_history(history, out / "loss_curve.png", "Training on two moons")

    lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
    scores = nn.predict(model, np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.contourf(gx, gy, scores > 0, levels=1, cmap="coolwarm", alpha=0.35)
    ax.contour(gx, gy, scores, levels=[0.0], colors="k", linewidths=1)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=14, edgecolors="k", linewidths=0.3)
    ax.set_title("Decision boundary of MLP(2, [16, 16, 1])")
    fig.tight_layout()
    fig.savefig(out / "decision_boundary.png", dpi=120)
    plt.close(fig)
    return f"wrote {out / 'loss_curve.png'} and {out / 'decision_boundary.png'}"


def main(argv: list[str] | None = None) -> int:
    parser = command_line()
    args = parser.parse_args(argv)
    prepare_output(args.out, parser.prog)
    X, classes = nn.make_moons(args.samples, noise=0.15, seed=args.seed)
    y = 2 * classes - 1  # the max-margin loss wants labels -1 and +1
    model = nn.MLP(2, [16, 16, 1], seed=args.seed)
    print(f"Training {model} ({len(model.parameters())} parameters) on {len(X)} points")
    history = nn.fit(
        model,
        X,
        y,
        loss="hinge",
        epochs=args.epochs,
        batch_size=args.batch_size,
        weight_decay=2e-4,  # λ·p added to each gradient: the gradient of the penalty 1e-4·Σp²
        seed=args.seed,
        progress=not args.no_progress,
    )
    print(
        f"final loss {history.loss[-1]:.4f}, training accuracy {history.accuracy[-1]:.1%} "
        f"after {args.epochs} epochs in {history.seconds:.2f} s"
    )
    print(plots(model, X, y, history, args.out))
    print(neuron_picture(model, X, y, args.out / "neuron.svg", args.out / "backprop.html"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
