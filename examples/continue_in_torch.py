"""Train a network here, hand it to PyTorch with nn.to_torch, and carry on training there.

    python examples/continue_in_torch.py [--epochs 30] [--torch-epochs 10] [--samples 200]

An MLP(2, [16, 16, 1]) learns the two moons with `nn.fit` (binary cross-entropy on its logit,
Adam). `nn.to_torch` then turns it into a `torch.nn.Sequential` of `Linear`, `ReLU`, `Linear`,
`ReLU`, `Linear` with the same numbers: the script prints the loss on the whole data computed by
this engine and by PyTorch at the hand-over (the same number), then trains on in PyTorch with a
fresh `torch.optim.Adam` (the parameters move over, the optimizer's moments do not), printing the
loss after each epoch there.

PyTorch is the optional extra `torch`: without it the script prints one line starting with
"skipped" (and how to install it) and exits with status 0. Command-line mistakes end with one
line on stderr and status 2.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

import nn

from cli import OneLineParser, non_negative_int, positive_int, random_seed, script_parser

INSTALL_HINT = 'pip install -e ".[torch]"'
LEARNING_RATE = 0.01


def command_line() -> OneLineParser:
    parser = script_parser(__file__, __doc__)
    parser.add_argument("--epochs", type=positive_int, default=30, help="epochs here")
    parser.add_argument("--torch-epochs", type=non_negative_int, default=10, help="then there")
    parser.add_argument("--samples", type=positive_int, default=200, help="points in the data")
    parser.add_argument("--batch-size", type=positive_int, default=32)
    parser.add_argument("--seed", type=random_seed, default=0)
    parser.add_argument("--no-progress", action="store_true", help="no progress line")
    return parser


def loss_here(model: nn.MLP, X: np.ndarray, y: np.ndarray) -> float:
    """The mean binary cross-entropy on every row, computed by this engine, row by row."""
    logits = [model(row) for row in X.tolist()]
    return nn.binary_cross_entropy_with_logits(logits, y.tolist()).data


def loss_in_torch(torch: Any, net: Any, X: Any, y: Any) -> float:
    """The same loss computed by PyTorch."""
    with torch.no_grad():
        return torch.nn.functional.binary_cross_entropy_with_logits(net(X)[:, 0], y).item()


def train_in_torch(torch: Any, net: Any, X: Any, y: Any, args: Any) -> None:
    """Mini-batch Adam, as nn.fit did here, printing the whole-data loss after each epoch."""
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    shuffles = torch.Generator().manual_seed(args.seed)
    for epoch in range(1, args.torch_epochs + 1):
        order = torch.randperm(len(X), generator=shuffles)
        for start in range(0, len(X), args.batch_size):
            batch = order[start : start + args.batch_size]
            optimizer.zero_grad()
            logits = net(X[batch])[:, 0]
            torch.nn.functional.binary_cross_entropy_with_logits(logits, y[batch]).backward()
            optimizer.step()
        print(f"torch epoch {epoch}: loss {loss_in_torch(torch, net, X, y):.6f}")


def main(argv: list[str] | None = None) -> int:
    args = command_line().parse_args(argv)
    try:
        import torch
    except ImportError:
        print(f"skipped: needs PyTorch to carry the training on ({INSTALL_HINT})")
        return 0
    X, y = nn.make_moons(args.samples, noise=0.15, seed=args.seed)
    model = nn.MLP(2, [16, 16, 1], seed=args.seed)
    print(f"Training {model} here for {args.epochs} epochs on {len(X)} points")
    history = nn.fit(
        model,
        X,
        y,
        loss="bce",
        optimizer=nn.Adam(model.parameters(), lr=LEARNING_RATE),
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        progress=not args.no_progress,
    )
    print(f"here: training accuracy {history.accuracy[-1]:.1%}")

    net = nn.to_torch(model)
    print(f"handed over as {' -> '.join(type(m).__name__ for m in net)}")
    X_t = torch.from_numpy(X)
    y_t = torch.from_numpy(y.astype(np.float64))
    here, there = loss_here(model, X, y), loss_in_torch(torch, net, X_t, y_t)
    print(f"hand-over loss here:     {here:.15f}")
    print(f"hand-over loss in torch: {there:.15f}")

    train_in_torch(torch, net, X_t, y_t, args)
    with torch.no_grad():
        accuracy = ((net(X_t)[:, 0] > 0).double() == y_t).double().mean().item()
    print(f"in torch: training accuracy {accuracy:.1%} after {args.torch_epochs} more epochs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
