"""Small seeded toy data sets, made with numpy alone."""

from __future__ import annotations

import numpy as np

from autodiff import checks


def make_moons(
    n: int = 100, noise: float = 0.1, seed: int | np.random.Generator | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles, as scikit-learn's make_moons draws them.

    Returns X of shape (n, 2) and labels y of shape (n,) in {0, 1}: the upper moon (centre
    (0, 0), radius 1) is class 0 with n // 2 points, the lower one (centre (1, 0.5)) class 1.
    Gaussian noise of standard deviation `noise` is added to every coordinate.
    """
    n = checks.size(n, "make_moons: n")
    noise = checks.number(noise, "make_moons: noise")
    if noise < 0:
        raise ValueError(f"make_moons: noise must be >= 0 (got {noise})")
    rng = np.random.default_rng(seed)
    n_upper = n // 2
    angles_upper = np.linspace(0.0, np.pi, n_upper)
    angles_lower = np.linspace(0.0, np.pi, n - n_upper)
    upper = np.column_stack([np.cos(angles_upper), np.sin(angles_upper)])
    lower = np.column_stack([1.0 - np.cos(angles_lower), 0.5 - np.sin(angles_lower)])
    X = np.vstack([upper, lower]) + rng.normal(0.0, noise, size=(n, 2))
    y = np.concatenate([np.zeros(n_upper, dtype=int), np.ones(n - n_upper, dtype=int)])
    order = rng.permutation(n)
    return X[order], y[order]
