"""Train a small network on two moons, then draw what it learned and how one neuron computes.

    python examples/train_moons.py [--epochs 100] [--samples 200] [--out out]

The data are generated here (two interleaving half circles, seeded). An MLP(2, [16, 16, 1])
with relu hidden layers learns to separate them with micrograd's max-margin loss, trained by
`nn.fit` through the batched tape. Written to `--out`:

- `decision_boundary.png` and `loss_curve.png` (need matplotlib: `pip install -e ".[plots]"`);
- `neuron.svg`: the graph of one hidden neuron's computation on one training point, with the
  gradients the loss sent back into it (needs graphviz's `dot` program).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import nn
import viz
from autodiff import topological_order

from cli import OneLineParser, positive_int, prepare_output


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = OneLineParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=positive_int, default=100)
    parser.add_argument("--samples", type=positive_int, default=200, help="points in the data")
    parser.add_argument("--batch-size", type=positive_int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out"), help="folder for the pictures")
    parser.add_argument("--no-progress", action="store_true", help="no progress line")
    return parser.parse_args(argv)


def neuron_picture(model: nn.MLP, x: np.ndarray, label: float, path: Path) -> str:
    """Draw hidden neuron a1[0] on one point, after backpropagating that point's loss."""
    loss = nn.hinge_loss([model(x.tolist())], [label])
    model.zero_grad()
    loss.backward()
    neuron = next(node for node in topological_order(loss) if node.label == "a1[0]")
    try:
        written = viz.render(neuron, path)
    except viz.DotNotFoundError:
        source = path.with_suffix(".gv")
        source.write_text(viz.draw_graph(neuron).source)
        return f"skipped {path.name} (graphviz's `dot` is not installed); wrote {source}"
    return f"wrote {written}"


def plots(model: nn.MLP, X: np.ndarray, y: np.ndarray, history: nn.History, out: Path) -> str:
    """The loss curve and the decision boundary as PNG files, if matplotlib is there."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return 'skipped the PNG plots: matplotlib is not installed (pip install -e ".[plots]")'

    fig, ax = plt.subplots(figsize=(5, 3.2))
    epochs = np.arange(1, len(history.loss) + 1)
    ax.plot(epochs, history.loss, label="loss")
    ax.plot(epochs, history.accuracy, label="accuracy")
    ax.set_xlabel("epoch")
    ax.legend()
    ax.set_title("Training on two moons")
    fig.tight_layout()
    fig.savefig(out / "loss_curve.png", dpi=120)
    plt.close(fig)

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
    args = parse_args(argv)
    prepare_output(args.out, "train_moons")
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
        weight_decay=1e-4,
        seed=args.seed,
        progress=not args.no_progress,
    )
    print(
        f"final loss {history.loss[-1]:.4f}, training accuracy {history.accuracy[-1]:.1%} "
        f"after {args.epochs} epochs in {history.seconds:.2f} s"
    )
    print(plots(model, X, y, history, args.out))
    print(neuron_picture(model, X[0], float(y[0]), args.out / "neuron.svg"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
