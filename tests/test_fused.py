"""The training step's fast path (backprop.engine.fused) against the reference.

The truth is ``Network.backward`` followed by ``Optimizer.step``: the textbook
equations, one line each (themselves checked against finite differences in
test_gradients.py and against Algorithm 1 / the momentum formula in
test_optim.py).  The fused step must reach the same weights and optimiser state
for every optimiser, hidden activation, output/loss pair and depth, with
dropout and regularisation.  Not bit for bit: the fused path applies the
optimiser's factor and 1/N before the matrix product instead of after it, so
the stated tolerance is relative 1e-10 in float64 after three steps and 1e-4
in float32 (Adam in float32: 5 % of one step η where ∇ is at rounding level).
"""

from __future__ import annotations

import numpy as np
import pytest

from backprop.engine.fused import FUSE_MIN, backward_fused, train_step_fused
from backprop.engine.network import Network
from backprop.engine.optim import SGD, get_optimizer

OPTIMIZERS = ["sgd", "momentum", "nesterov", "adam"]
HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]
PAIRS = [  # (output, loss): the three shortcut pairs and two that use (11)
    ("softmax", "categorical_crossentropy"),
    ("sigmoid", "binary_crossentropy"),
    ("identity", "mse"),
    ("sigmoid", "mse"),
    ("tanh", "mse"),
]
TOL = {"float64": {"rtol": 1e-10, "atol": 1e-12}, "float32": {"rtol": 1e-4, "atol": 1e-5}}


def _twins(sizes, dtype="float64", dropout=0.0, **kw):
    """Two identical networks with identical random generators (dropout draws alike)."""
    nets = [Network(sizes, dtype=dtype, dropout=dropout, rng=np.random.default_rng(7), **kw)
            for _ in range(2)]
    return nets


def _batch(sizes, n, output, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, sizes[0]))
    if output in ("softmax", "sigmoid"):
        Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    else:
        Y = rng.uniform(-0.9, 0.9, (n, sizes[-1]))
    return X, Y


def _optimizer_state(opt) -> list[np.ndarray]:
    state = opt.state_dict()
    return [a for key in ("velocity", "m", "v") if state.get(key) for a in state[key]]


def _train_both(ref, fast, opt_name, X, Y, steps=3, lr=0.05, l1=0.0, l2=0.0):
    ref_opt, fast_opt = get_optimizer(opt_name), get_optimizer(opt_name)
    for _ in range(steps):
        ref.forward(X, train=True)
        ref_opt.step(ref.params(), ref.backward(Y, l1, l2), lr)
        fast.forward(X, train=True, reuse=True)
        train_step_fused(fast, fast_opt, Y, lr, l1, l2)
    assert ref_opt.t == fast_opt.t == steps
    return ref_opt, fast_opt


def _assert_same(ref, fast, ref_opt, fast_opt, tol):
    for p, q in zip(ref.params(), fast.params()):
        np.testing.assert_allclose(q, p, **tol)
    for s, t in zip(_optimizer_state(ref_opt), _optimizer_state(fast_opt), strict=True):
        np.testing.assert_allclose(t, s, **tol)


@pytest.mark.parametrize("opt_name", OPTIMIZERS)
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_fused_step_equals_backward_then_step(opt_name, hidden, depth):
    sizes = [5] + [6] * (depth - 1) + [3]
    activation = [hidden] * (depth - 1)
    ref, fast = _twins(sizes, activation=activation, dropout=0.25 if depth > 1 else 0.0)
    X, Y = _batch(sizes, 8, "softmax")
    opts = _train_both(ref, fast, opt_name, X, Y, l1=1e-3, l2=1e-2)
    _assert_same(ref, fast, *opts, TOL["float64"])


@pytest.mark.parametrize("opt_name", OPTIMIZERS)
@pytest.mark.parametrize("output,loss", PAIRS)
def test_every_output_and_loss(opt_name, output, loss):
    sizes = [4, 7, 3]
    ref, fast = _twins(sizes, activation="tanh", output=output, loss=loss)
    X, Y = _batch(sizes, 10, output)
    _assert_same(ref, fast, *_train_both(ref, fast, opt_name, X, Y), TOL["float64"])


@pytest.mark.parametrize("opt_name", OPTIMIZERS)
@pytest.mark.parametrize("n", [16, 200])  # s/N on δ (N ≤ fan-in) and on ∇ (N > fan-in)
def test_large_layers_through_blas_in_float32(opt_name, n):
    """784-96-10: the first layer goes through BLAS's gemm (over FUSE_MIN), the second not."""
    sizes = [784, 96, 10]
    assert sizes[0] * sizes[1] >= FUSE_MIN > sizes[1] * sizes[2]
    ref, fast = _twins(sizes, dtype="float32", activation="relu")
    X, Y = _batch(sizes, n, "softmax")
    X = X.astype(np.float32)
    lr = 0.01 if opt_name != "adam" else 1e-3
    opts = _train_both(ref, fast, opt_name, X, Y, lr=lr)
    # Adam's m̂/(√v̂ + ε) divides by the gradient's own size, so where ∇ is at the level of
    # float32 rounding the step amplifies it: there, agreement to 5 % of one step η
    tol = TOL["float32"] if opt_name != "adam" else {"rtol": 1e-4, "atol": 0.05 * lr}
    _assert_same(ref, fast, *opts, tol)


@pytest.mark.parametrize("scale", [1.0, -0.3])
def test_backward_fused_is_scaled_reference_gradient(scale):
    sizes = [6, 5, 4, 3]
    ref, fast = _twins(sizes, activation=["sigmoid", "relu"], output="sigmoid", loss="mse")
    X, Y = _batch(sizes, 9, "sigmoid")
    ref.forward(X)
    grads = ref.backward(Y, l1=0.01, l2=0.1)
    fast.forward(X, reuse=True)
    fused = backward_fused(fast, Y, l1=0.01, l2=0.1, scale=scale)
    for g, f in zip(grads, fused, strict=True):
        np.testing.assert_allclose(f, scale * g, **TOL["float64"])
    for d, e in zip(ref.cache["delta"], fast.cache["delta"], strict=True):
        np.testing.assert_allclose(e, d, **TOL["float64"])


def test_an_unknown_optimizer_runs_its_own_step():
    """A user's subclass gets exactly ``step(params, backward(...), lr)``, bit for bit."""

    class HalfSGD(SGD):
        def step(self, params, grads, lr):
            super().step(params, grads, lr / 2)

    sizes = [3, 4, 2]
    ref, fast = _twins(sizes)
    X, Y = _batch(sizes, 5, "softmax")
    ref.forward(X)
    HalfSGD().step(ref.params(), ref.backward(Y), 0.2)
    fast.forward(X, reuse=True)
    train_step_fused(fast, HalfSGD(), Y, 0.2)
    for p, q in zip(ref.params(), fast.params()):
        assert np.array_equal(p, q)


def test_backward_fused_needs_a_forward():
    net = Network([2, 2])
    with pytest.raises(RuntimeError, match="forward"):
        backward_fused(net, np.zeros((1, 2)))
