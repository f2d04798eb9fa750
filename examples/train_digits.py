"""Train an MLP on scikit-learn's handwritten digits with softmax cross-entropy.

    python examples/train_digits.py [--epochs 20] [--batch-size 32] [--seed 0] [--out out]

The 1,797 8x8 images ship inside scikit-learn (nothing is downloaded). Pixels are scaled from
0..16 to [0, 1], and a stratified split drawn from `--seed` keeps a quarter of the images for
testing. An MLP(64, [32, 10]) (relu hidden layer, one linear output per digit) learns them with
`nn.fit` and softmax cross-entropy; the script prints the test accuracy and how long training
took (a few seconds), and writes to `--out` when matplotlib is installed
(`pip install -e ".[plots]"`):

- `digits_loss.png`: training loss and accuracy per epoch;
- `digits_misclassified.png`: test images the network got wrong, with its answers.

scikit-learn is the optional extra `datasets`: without it the script prints one line starting
with "skipped" (and how to install it) and exits with status 0, so running every example still
passes. Command-line mistakes end with one line on stderr and status 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

import nn

from cli import (
    OneLineParser,
    plot_history,
    positive_int,
    prepare_output,
    pyplot_or_reason,
    random_seed,
    script_parser,
)

INSTALL_HINT = 'pip install -e ".[datasets]"'


def command_line() -> OneLineParser:
    parser = script_parser(__file__, __doc__)
    parser.add_argument("--epochs", type=positive_int, default=20)
    parser.add_argument("--batch-size", type=positive_int, default=32)
    parser.add_argument(
        "--seed", type=random_seed, default=0, help="for the split, weights and shuffles"
    )
    parser.add_argument("--out", type=Path, default=Path("out"), help="folder for the pictures")
    parser.add_argument("--no-progress", action="store_true", help="no progress line")
    return parser


def load_split(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Training and test pixels in [0, 1] with their digits, and the test images as 8x8."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = digits.data / 16.0
    indices = np.arange(len(X))
    train, test = train_test_split(
        indices, test_size=0.25, stratify=digits.target, random_state=seed
    )
    return X[train], digits.target[train], X[test], digits.target[test], digits.images[test]


def plots(history: nn.History, images: np.ndarray, truth: Any, said: Any, out: Path) -> str:
    """The loss curve and some misclassified test digits as PNG files, if matplotlib is there."""
    plt, reason = pyplot_or_reason()
    if plt is None:
        return reason
    written = [plot_history(history, out / "digits_loss.png", "MLP(64, [32, 10]) on the digits")]

    wrong = np.flatnonzero(truth != said)[:12]
    if len(wrong):
        size = (max(4.0, 1.1 * len(wrong)), 1.9)
        fig, axes = plt.subplots(1, len(wrong), figsize=size, squeeze=False)
        for ax, i in zip(axes[0], wrong, strict=True):
            ax.imshow(images[i], cmap="gray_r", interpolation="nearest")
            ax.set_title(f"{truth[i]}, said {said[i]}", fontsize=8)
            ax.axis("off")
        fig.suptitle("Test digits it got wrong (true digit, then its answer)", fontsize=9)
        fig.tight_layout()
        fig.savefig(out / "digits_misclassified.png", dpi=120)
        plt.close(fig)
        written.append(out / "digits_misclassified.png")
    return "wrote " + " and ".join(map(str, written))


def main(argv: list[str] | None = None) -> int:
    parser = command_line()
    args = parser.parse_args(argv)
    try:
        import sklearn  # noqa: F401  (only to know whether the optional extra is there)
    except ImportError:
        print(f"skipped: needs scikit-learn for its bundled digits ({INSTALL_HINT})")
        return 0
    prepare_output(args.out, parser.prog)
    X_train, y_train, X_test, y_test, test_images = load_split(args.seed)
    print(
        f"digits: {len(X_train)} training and {len(X_test)} test images, "
        "8x8 pixels scaled to [0, 1]"
    )
    model = nn.MLP(64, [32, 10], seed=args.seed)
    print(f"Training {model} ({len(model.parameters())} parameters) with softmax cross-entropy")
    history = nn.fit(
        model,
        X_train,
        y_train,
        loss="softmax_ce",
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        progress=not args.no_progress,
    )
    said = nn.labels_from(nn.predict(model, X_test), "argmax")
    right = int(np.sum(said == y_test))
    print(
        f"final training loss {history.loss[-1]:.4f}, training accuracy {history.accuracy[-1]:.1%}"
    )
    print(f"test accuracy {right / len(y_test):.1%} ({right} of {len(y_test)} images)")
    print(
        f"training took {history.seconds:.2f} s "
        f"({args.epochs} epochs, batch size {args.batch_size})"
    )
    try:
        print(plots(history, test_images, y_test, said, args.out))
    except OSError as error:
        sys.exit(f"{parser.prog}: cannot write to --out {str(args.out)!r}: {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
