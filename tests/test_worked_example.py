"""The seed's 3-layer network on one sample, every number worked out by hand.

Network 2-3-2: sigmoid hidden layer, sigmoid outputs, the seed's cost
J = -Σ[y log a + (1-y) log(1-a)].  Biases are 0.  One sample x = (1, 0)ᵀ, y = (1, 0)ᵀ.

    W⁽¹⁾ = [[0.5, -0.5],      W⁽²⁾ = [[1, -1,  0.5],
            [1.0,  0.0],              [0,  1, -1.0]]
            [0.0,  1.0]]

Forward
    z⁽²⁾ = W⁽¹⁾x = (0.5, 1.0, 0.0)
    a⁽²⁾ = σ(z⁽²⁾) = (1/(1+e^-0.5), 1/(1+e^-1), 1/2) = (0.622459, 0.731059, 0.5)
    z⁽³⁾ = W⁽²⁾a⁽²⁾ = (0.622459 - 0.731059 + 0.25, 0.731059 - 0.5) = (0.141401, 0.231059)
    a⁽³⁾ = σ(z⁽³⁾) = (0.535291, 0.557509)
    J = -[log 0.535291 + log(1 - 0.557509)] = 0.624911 + 0.815368 = 1.440279

Backward
    (10) δ⁽³⁾ = a⁽³⁾ - y = (-0.464709, 0.557509)
    (12) W⁽²⁾ᵀδ⁽³⁾ = (1·-0.464709 + 0·0.557509,
                     -1·-0.464709 + 1·0.557509,
                     0.5·-0.464709 - 1·0.557509) = (-0.464709, 1.022218, -0.789863)
         a⁽²⁾(1 - a⁽²⁾) = (0.235004, 0.196612, 0.25)
         δ⁽²⁾ = (-0.109208, 0.200980, -0.197466)
    (14) ∇⁽²⁾ = δ⁽³⁾a⁽²⁾ᵀ = [[-0.464709·0.622459, -0.464709·0.731059, -0.464709·0.5],
                            [ 0.557509·0.622459,  0.557509·0.731059,  0.557509·0.5]]
              = [[-0.289262, -0.339729, -0.232354], [0.347027, 0.407572, 0.278755]]
    (16) ∇⁽¹⁾ = δ⁽²⁾xᵀ = [[-0.109208, 0], [0.200980, 0], [-0.197466, 0]]
Update, η = 0.5:  W ← W - η∇
    W⁽²⁾ = [[1.144631, -0.830135, 0.616177], [-0.173513, 0.796214, -1.139377]]
    W⁽¹⁾ = [[0.554604, -0.5], [0.899510, 0.0], [0.098733, 1.0]]
"""

from __future__ import annotations

import numpy as np

from backprop import Network
from backprop.engine.optim import SGD

TOL = 5e-6  # the hand values above are rounded to 6 decimals


def _seed_network() -> Network:
    net = Network([2, 3, 2], activation="sigmoid", output="sigmoid",
                  loss="binary_crossentropy", dtype="float64", seed=0)
    net.set_params([
        np.array([[0.5, -0.5], [1.0, 0.0], [0.0, 1.0]]), np.zeros(3),
        np.array([[1.0, -1.0, 0.5], [0.0, 1.0, -1.0]]), np.zeros(2),
    ])
    return net


X = np.array([[1.0, 0.0]])
Y = np.array([[1.0, 0.0]])


def test_forward_pass():
    net = _seed_network()
    a3 = net.forward(X)
    np.testing.assert_allclose(net.cache["z"][0], [[0.5, 1.0, 0.0]], atol=TOL)
    np.testing.assert_allclose(net.cache["a"][0], [[0.622459, 0.731059, 0.5]], atol=TOL)
    np.testing.assert_allclose(net.cache["z"][1], [[0.141401, 0.231059]], atol=TOL)
    np.testing.assert_allclose(a3, [[0.535291, 0.557509]], atol=TOL)
    assert abs(net.cost(X, Y) - 1.440279) < TOL


def test_deltas_and_gradients():
    net = _seed_network()
    net.forward(X)
    grads = net.backward(Y)
    delta2, delta3 = net.cache["delta"]
    np.testing.assert_allclose(delta3, [[-0.464709, 0.557509]], atol=TOL)  # (10)
    np.testing.assert_allclose(delta2, [[-0.109208, 0.200980, -0.197466]], atol=TOL)  # (12)
    np.testing.assert_allclose(
        grads[2], [[-0.289262, -0.339729, -0.232354], [0.347027, 0.407572, 0.278755]], atol=TOL
    )  # (14)
    np.testing.assert_allclose(grads[0], [[-0.109208, 0], [0.200980, 0], [-0.197466, 0]], atol=TOL)
    np.testing.assert_allclose(grads[3], [-0.464709, 0.557509], atol=TOL)  # ∂J/∂b⁽²⁾ = δ⁽³⁾
    np.testing.assert_allclose(grads[1], [-0.109208, 0.200980, -0.197466], atol=TOL)


def test_update_step():
    net = _seed_network()
    grads = net.gradients(X, Y)
    SGD().step(net.params(), grads, lr=0.5)
    np.testing.assert_allclose(
        net.layers[1].W, [[1.144631, -0.830135, 0.616177], [-0.173513, 0.796214, -1.139377]],
        atol=TOL,
    )
    np.testing.assert_allclose(
        net.layers[0].W, [[0.554604, -0.5], [0.899510, 0.0], [0.098733, 1.0]], atol=TOL
    )
    assert net.cost(X, Y) < 1.440279  # the step lowered J


def test_batch_gradient_is_the_mean_of_per_sample_gradients():
    """J is the batch mean, so ∇ over two samples is the mean of their ∇."""
    net = _seed_network()
    X2 = np.array([[1.0, 0.0], [0.3, -0.7]])
    Y2 = np.array([[1.0, 0.0], [0.0, 1.0]])
    both = [g.copy() for g in net.gradients(X2, Y2)]
    first = [g.copy() for g in net.gradients(X2[:1], Y2[:1])]
    second = [g.copy() for g in net.gradients(X2[1:], Y2[1:])]
    for g, g1, g2 in zip(both, first, second):
        np.testing.assert_allclose(g, (g1 + g2) / 2, rtol=1e-12, atol=1e-15)
