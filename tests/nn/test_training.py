"""End-to-end training: XOR with plain gradient descent, two moons with micrograd's hinge loss."""

from __future__ import annotations

import numpy as np

import nn


def test_xor_2_2_1_sigmoid_network_learns_with_plain_gradient_descent():
    X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    T = [0.0, 1.0, 1.0, 0.0]
    model = nn.MLP(2, [2, 1], activation="sigmoid", output_activation="sigmoid", seed=3)
    opt = nn.SGD(model.parameters(), lr=5.0)
    for _ in range(400):
        loss = nn.half_sse([model(x) for x in X], T)
        opt.zero_grad()
        loss.backward()
        opt.step()
    final = nn.half_sse([model(x) for x in X], T)
    assert final.data < 0.01
    assert [round(model(x).data) for x in X] == [0, 1, 1, 0]


def test_make_moons_is_seeded_and_balanced():
    X, y = nn.make_moons(101, noise=0.1, seed=0)
    X2, y2 = nn.make_moons(101, noise=0.1, seed=0)
    assert X.shape == (101, 2) and y.shape == (101,)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert sorted(set(y.tolist())) == [0, 1] and y.sum() == 51
    clean, labels = nn.make_moons(200, noise=0.0, seed=1)
    upper = clean[labels == 0]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, rtol=1e-12)


def test_two_moons_mlp_2_16_16_1_with_hinge_loss_reaches_97_percent():
    X, y = nn.make_moons(100, noise=0.1, seed=0)
    inputs, labels = X.tolist(), (2 * y - 1).tolist()
    model = nn.MLP(2, [16, 16, 1], seed=0)
    opt = nn.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(60):
        loss = nn.hinge_loss([model(x) for x in inputs], labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    scores = np.array([model(x).data for x in inputs])
    accuracy = np.mean((scores > 0) == (y == 1))
    assert accuracy >= 0.97
