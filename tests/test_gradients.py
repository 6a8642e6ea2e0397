"""Every gradient is checked against central finite differences in float64."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from backprop import Network, gradient_check

HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]
# (output activation, loss): the three shortcut pairs and general chain-rule pairs
PAIRS = [
    ("sigmoid", "binary_crossentropy"),
    ("softmax", "categorical_crossentropy"),
    ("identity", "mse"),
    ("sigmoid", "mse"),
    ("tanh", "mse"),
    ("softmax", "mse"),
    ("sigmoid", "categorical_crossentropy"),
    ("softmax", "binary_crossentropy"),
    ("relu", "mse"),
]
REGULARISERS = [(0.0, 0.0), (0.01, 0.0), (0.0, 0.1)]
TOL = 1e-7


def _net(sizes, **kwargs) -> Network:
    """A float64 network with small random biases, so no ReLU sits exactly on its kink."""
    net = Network(sizes, dtype="float64", **kwargs)
    rng = np.random.default_rng(99)
    for layer in net.layers:
        layer.b[:] = rng.normal(0.0, 0.3, size=layer.b.shape)
    return net


def _data(output: str, loss: str, n_out: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(6, 4))
    if loss == "categorical_crossentropy":
        Y = np.eye(n_out)[rng.integers(0, n_out, size=6)]
    elif output == "tanh":
        Y = rng.uniform(-0.9, 0.9, size=(6, n_out))
    else:
        Y = rng.uniform(0.05, 0.95, size=(6, n_out))
    return X, Y


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("output,loss", PAIRS)
@pytest.mark.parametrize("l1,l2", REGULARISERS)
def test_every_activation_loss_regulariser(hidden, output, loss, l1, l2):
    net = _net([4, 5, 3], activation=hidden, output=output, loss=loss, seed=3)
    X, Y = _data(output, loss, 3)
    errors = gradient_check(net, X, Y, l1=l1, l2=l2)
    assert set(errors) == {"W1", "b1", "W2", "b2"}
    assert max(errors.values()) <= TOL, errors


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("output,loss", PAIRS[:3])
def test_depths_one_to_four(depth, hidden, output, loss):
    sizes = [4] + [5] * (depth - 1) + [3]
    net = _net(sizes, activation=hidden, output=output, loss=loss, seed=depth)
    X, Y = _data(output, loss, 3, seed=depth)
    errors = gradient_check(net, X, Y, l1=0.003, l2=0.02)
    assert len(errors) == 2 * depth
    assert max(errors.values()) <= TOL, errors


def test_a_wrong_gradient_is_caught():
    """The check is not vacuous: a corrupted gradient gives a large error."""
    net = _net([4, 4, 2], seed=0)
    X, Y = _data("softmax", "categorical_crossentropy", 2)
    from backprop.engine.gradcheck import numerical_gradients, relative_error

    analytic = net.gradients(X, Y)
    numeric = numerical_gradients(net, X, Y)
    assert relative_error(analytic[0], numeric[0]) < TOL
    assert relative_error(2 * analytic[0], numeric[0]) > 0.1
    assert relative_error(analytic[0].T.reshape(analytic[0].shape), numeric[0]) > 1e-3


def test_sampled_entries_for_large_layers():
    net = Network([30, 20, 4], activation="tanh", dtype="float64", seed=1)
    X, Y = _data("softmax", "categorical_crossentropy", 4)
    X = np.random.default_rng(0).normal(size=(5, 30))
    Y = Y[:5]
    errors = gradient_check(net, X, Y, max_entries=25)
    assert max(errors.values()) <= TOL


def test_float32_network_is_checked_in_float64():
    net = Network([4, 3, 2], activation="sigmoid", seed=0)  # float32
    X, Y = _data("softmax", "categorical_crossentropy", 2)
    errors = gradient_check(net, X, Y)
    assert max(errors.values()) <= TOL
    assert net.layers[0].W.dtype == np.float32  # the original is untouched


def test_integer_labels_accepted():
    net = Network([4, 3, 3], activation="relu", dtype="float64", seed=0)
    X = np.random.default_rng(1).normal(size=(6, 4))
    errors = gradient_check(net, X, np.array([0, 1, 2, 2, 1, 0]))
    assert max(errors.values()) <= TOL


def test_all_pairs_cover_shortcut_and_general_paths():
    shortcut = {(o, lo) for o, lo in PAIRS if Network([2, 2], output=o, loss=lo).shortcut}
    assert shortcut == {
        ("sigmoid", "binary_crossentropy"),
        ("softmax", "categorical_crossentropy"),
        ("identity", "mse"),
    }
    assert len(list(itertools.product(HIDDEN, PAIRS, REGULARISERS))) == 135
