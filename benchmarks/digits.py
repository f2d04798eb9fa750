"""W5: training on scikit-learn's digits, `nn.fit` against scikit-learn's own `MLPClassifier`.

Both train the same network the same way: 64 pixels in [0, 1], one hidden layer of 32 relu
units, 10 outputs with softmax cross-entropy, Adam with lr 0.01 (betas 0.9 and 0.999, eps 1e-8),
no weight decay, mini-batches of 32 in a fresh shuffled order each epoch, 20 epochs, no early
stopping. Each side is timed as one whole call (set-up included) on a stratified split that
keeps a quarter of the 1,797 images for testing; the test accuracy is what each model scores.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import nn
from benchmarks.peers import Unavailable

HIDDEN = 32
LR = 0.01
BATCH = 32
EPOCHS = 20
SEED = 0


@dataclass(frozen=True)
class Split:
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def load_split() -> Split:
    """The digits, pixels scaled from 0..16 to [0, 1], split 3:1 stratified by digit."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as error:
        raise Unavailable('scikit-learn not installed (pip install -e ".[datasets]")') from error
    digits = load_digits()
    X = digits.data / 16.0
    train, test = train_test_split(
        np.arange(len(X)), test_size=0.25, stratify=digits.target, random_state=SEED
    )
    return Split(X[train], digits.target[train], X[test], digits.target[test])


def ours(split: Split) -> Callable[[], float]:
    """A run of `nn.fit` that returns the test accuracy of the model it trained."""

    def run() -> float:
        model = nn.MLP(split.X_train.shape[1], [HIDDEN, 10], seed=SEED)
        nn.fit(
            model,
            split.X_train,
            split.y_train,
            loss="softmax_ce",
            optimizer=nn.Adam(model.parameters(), lr=LR),
            epochs=EPOCHS,
            batch_size=BATCH,
            seed=SEED,
            progress=False,
        )
        said = nn.labels_from(nn.predict(model, split.X_test), "argmax")
        return float(np.mean(said == split.y_test))

    return run


def scikit_learn(split: Split) -> Callable[[], float]:
    """A run of `MLPClassifier` with the same network and training, returning its accuracy."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    def run() -> float:
        classifier: Any = MLPClassifier(
            hidden_layer_sizes=(HIDDEN,),
            activation="relu",
            solver="adam",
            alpha=0.0,
            batch_size=BATCH,
            learning_rate_init=LR,
            max_iter=EPOCHS,
            shuffle=True,
            random_state=SEED,
            tol=0.0,
            n_iter_no_change=EPOCHS + 1,  # with tol 0, never stop before the last epoch
            early_stopping=False,
        )
        with warnings.catch_warnings():
            # it warns that 20 epochs did not converge: they are what is being compared
            warnings.simplefilter("ignore", ConvergenceWarning)
            classifier.fit(split.X_train, split.y_train)
        if classifier.n_iter_ != EPOCHS:
            raise RuntimeError(f"MLPClassifier stopped after {classifier.n_iter_} epochs")
        return float(classifier.score(split.X_test, split.y_test))

    return run
