"""Hypothesis properties of the activations, losses and the network."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from backprop import Network, fit
from backprop.engine.activations import ACTIVATIONS, Sigmoid, Softmax
from backprop.engine.losses import LOSSES

finite = st.floats(-50, 50, allow_nan=False, allow_infinity=False)
batches = arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(2, 7)), elements=finite)


@given(batches, st.floats(-100, 100))
def test_softmax_rows_sum_to_one_and_are_shift_invariant(z, c):
    a = Softmax().forward(z)
    np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(a >= 0)
    np.testing.assert_allclose(Softmax().forward(z + c), a, rtol=1e-9, atol=1e-15)


@given(arrays(np.float32, st.integers(1, 50), elements=st.floats(-1e4, 1e4, width=32)))
def test_sigmoid_never_overflows_and_stays_in_range(z):
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        a = Sigmoid().forward(z.reshape(1, -1))
    assert a.dtype == np.float32
    assert np.all((a >= 0) & (a <= 1))


@given(batches)
def test_elementwise_derivatives_match_finite_differences(z):
    h = 1e-6
    for name, cls in ACTIVATIONS.items():
        if name == "softmax":
            continue
        f = cls()
        away = np.abs(z) > 1e-3  # ReLU-family kinks at 0
        num = (f.forward(z + h) - f.forward(z - h)) / (2 * h)
        ana = f.derivative(z, f.forward(z))
        np.testing.assert_allclose(ana[away], num[away], rtol=1e-5, atol=1e-7, err_msg=name)


@given(st.integers(1, 5), st.integers(1, 4), st.integers(0, 3), st.integers(0, 10_000))
@settings(max_examples=25, deadline=None)
def test_gradient_shapes_equal_parameter_shapes(n_in, n_out, depth, seed):
    sizes = [n_in] + [3] * depth + [max(n_out, 2)]
    net = Network(sizes, activation="tanh", seed=seed)
    X = np.random.default_rng(seed).normal(size=(4, n_in))
    Y = np.eye(sizes[-1])[np.arange(4) % sizes[-1]]
    grads = net.gradients(X, Y, l1=0.1, l2=0.1)
    assert [g.shape for g in grads] == [p.shape for p in net.params()]
    assert all(g.dtype == np.float32 for g in grads)


@given(st.integers(0, 10_000), st.sampled_from(["sigmoid", "tanh", "relu"]))
@settings(max_examples=25, deadline=None)
def test_a_small_step_against_the_gradient_lowers_the_cost(seed, activation):
    rng = np.random.default_rng(seed)
    net = Network([4, 5, 3], activation=activation, dtype="float64", seed=seed)
    X = rng.normal(size=(8, 4))
    Y = np.eye(3)[rng.integers(0, 3, size=8)]
    before = net.cost(X, Y, l2=0.01)
    grads = [g.copy() for g in net.gradients(X, Y, l2=0.01)]
    norm2 = sum(float(np.sum(g * g)) for g in grads)
    if norm2 < 1e-20:
        return  # already at a stationary point: nothing to lower
    for p, g in zip(net.params(), grads):
        p -= 1e-3 * g
    after = net.cost(X, Y, l2=0.01)
    assert after < before


@given(st.integers(0, 2**31 - 1))
@settings(max_examples=5, deadline=None)
def test_same_seed_gives_identical_weights_and_history(seed):
    rng = np.random.default_rng(12345)
    X = rng.normal(size=(40, 5)).astype(np.float32)
    y = rng.integers(0, 3, size=40)
    runs = []
    for _ in range(2):
        net = Network([5, 6, 3], activation="relu", dropout=0.2, input_dropout=0.1, seed=seed)
        h = fit(net, X, y, epochs=3, batch_size=8, lr=0.1, validation_split=0.25)
        runs.append((net.get_params(), [(r["loss"], r["val_loss"]) for r in h.records]))
    for p, q in zip(runs[0][0], runs[1][0]):
        assert np.array_equal(p, q)
    assert runs[0][1] == runs[1][1]


@given(arrays(np.float32, (3, 4), elements=st.floats(0, 1, width=32)))
def test_losses_are_finite_at_saturated_outputs(a):
    a = a.copy()
    a[0] = 0.0
    a[1] = 1.0
    y = np.zeros_like(a)
    y[:, 0] = 1
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for cls in LOSSES.values():
            assert np.isfinite(cls().value(a, y))
            assert np.all(np.isfinite(cls().grad(a, y)))
