"""The direct BLAS calls (backprop.engine.blas) against NumPy, and the paths that use them.

The truth is NumPy's own arithmetic in float64: each routine must give
α·A·B + β·C, α·x + y and α·x + β·y to rounding, in both dtypes and every
memory layout the engine passes, and the fallback (no BLAS found) must give
the same.  Then the fused momentum and Adam steps are checked against the
textbook updates written out with plain NumPy.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from backprop.engine import blas
from backprop.engine.fused import FUSE_MIN, backward_fused, train_step_fused
from backprop.engine.network import Network
from backprop.engine.optim import Adam, Momentum

DTYPES = [np.float32, np.float64]


@pytest.fixture(params=["blas", "numpy"])
def path(request, monkeypatch):
    """Run a test once with the BLAS routines and once with the NumPy fallback.

    Where NumPy's OpenBLAS is not found, both runs take the fallback.
    """
    if request.param == "numpy":
        for table in ("_GEMM", "_AXPY", "_AXPBY"):
            monkeypatch.setattr(blas, table, {})  # no routine bound: every call falls back
    return request.param


def _tol(dtype):
    return {"rtol": 1e-5, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order_a", ["C", "F"])
@pytest.mark.parametrize("order_b", ["C", "F"])
def test_gemm_is_alpha_ab_plus_beta_c(dtype, order_a, order_b):
    rng = np.random.default_rng(1)
    A = np.asarray(rng.standard_normal((7, 5)), dtype=dtype, order=order_a)
    B = np.asarray(rng.standard_normal((5, 9)), dtype=dtype, order=order_b)
    C0 = rng.standard_normal((7, 9)).astype(dtype)
    C = C0.copy()
    done = blas.gemm(0.5, A, B, 0.9, C)
    expected = 0.5 * (A.astype(np.float64) @ B.astype(np.float64)) + 0.9 * C0
    if done:
        np.testing.assert_allclose(C, expected, **_tol(dtype))
    else:  # no BLAS here: C must be untouched
        assert not blas.AVAILABLE and np.array_equal(C, C0)


def test_gemm_of_transposed_views_as_backward_passes_them():
    """δᵀ·a with δ and a column-major (N, k) arrays, as Network.backward calls it."""
    rng = np.random.default_rng(2)
    delta = np.asfortranarray(rng.standard_normal((16, 3)))
    a = np.asfortranarray(rng.standard_normal((16, 4)))
    V = np.ones((3, 4))
    done = blas.gemm(1.0, delta.T, a, 0.5, V)
    assert done == blas.AVAILABLE  # NumPy's wheels ship OpenBLAS: taken wherever it is found
    np.testing.assert_allclose(V, delta.T @ a + 0.5 if done else 1.0, rtol=1e-12)


def test_gemm_declines_what_it_cannot_take():
    A, B = np.ones((2, 3)), np.ones((3, 4))
    strided = np.zeros((2, 8))[:, ::2]  # not contiguous: BLAS can't write it
    assert blas.gemm(1.0, A, B, 0.0, strided) is False
    assert np.all(strided == 0)
    assert blas.gemm(1.0, A.astype(np.float32), B, 0.0, np.zeros((2, 4))) is False
    with pytest.raises(ValueError, match="shapes do not match"):
        blas.gemm(1.0, A, B.T, 0.0, np.zeros((2, 4)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_axpy_and_axpby(dtype, path):
    rng = np.random.default_rng(3)
    x0, y0 = rng.standard_normal(1000).astype(dtype), rng.standard_normal(1000).astype(dtype)
    y = y0.copy()
    blas.axpy(-0.25, x0.copy(), y)
    np.testing.assert_allclose(y, -0.25 * x0.astype(np.float64) + y0, **_tol(dtype))
    y = y0.copy()
    blas.axpby(3.0, x0.copy(), 0.5, y)
    np.testing.assert_allclose(y, 3.0 * x0.astype(np.float64) + 0.5 * y0, **_tol(dtype))


def test_switched_off_by_the_environment():
    code = "from backprop.engine import blas; print(blas.AVAILABLE)"
    env = {**os.environ, "BACKPROP_BLAS": "0"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def _net_and_batch(seed=0, n=32):
    # 784-96-10: the first layer (75,264 weights) is over FUSE_MIN, the second is not
    assert 96 * 784 >= FUSE_MIN > 10 * 96
    net = Network([784, 96, 10], activation="relu", dtype="float64", seed=seed)
    rng = np.random.default_rng(seed)
    X = rng.random((n, 784))
    Y = np.eye(10)[rng.integers(0, 10, n)]
    return net, X, Y


@pytest.mark.parametrize("n", [32, 128])
def test_backward_accumulate_is_beta_buffer_plus_scaled_gradient(n, path):
    net, X, Y = _net_and_batch(n=n)
    net.forward(X)
    plain = [-0.1 * g for g in net.backward(Y, l2=1e-3)]  # -0.1·∇J, the reference
    rng = np.random.default_rng(4)
    buffers = [rng.standard_normal(p.shape) for p in net.params()]
    start = [b.copy() for b in buffers]
    net.forward(X)
    out = backward_fused(net, Y, l2=1e-3, scale=-0.1, accumulate=[(b, 0.9) for b in buffers])
    for b, b0, g, o in zip(buffers, start, plain, out):
        assert o is b  # the buffers themselves come back
        np.testing.assert_allclose(b, 0.9 * b0 + g, rtol=1e-12, atol=1e-14)


def test_fused_momentum_equals_the_textbook_update(path):
    """Five steps of ΔW_t = αΔW_{t-1} - η∇, W ← W + ΔW_t, written out by hand."""
    net, X, Y = _net_and_batch(seed=5)
    ref = net.copy()
    eta, alpha = 0.05, 0.9
    opt = Momentum(alpha)
    velocity = [np.zeros_like(p) for p in ref.params()]
    for _ in range(5):
        net.forward(X, train=True, reuse=True)
        train_step_fused(net, opt, Y, eta)
        grads = ref.gradients(X, Y)
        for p, v, g in zip(ref.params(), velocity, grads):
            v[...] = alpha * v - eta * g
            p += v
    assert opt.t == 5
    for p, q in zip(net.params(), ref.params()):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-14)


def test_adam_equals_algorithm_1(path):
    """Three Adam steps against Kingma & Ba's Algorithm 1 written out with NumPy."""
    rng = np.random.default_rng(6)
    params = [rng.standard_normal((300, 400)), rng.standard_normal(400)]
    ref = [p.copy() for p in params]
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 1e-3
    opt = Adam(b1, b2, eps)
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for t in range(1, 4):
        grads = [rng.standard_normal(p.shape) for p in params]
        opt.step(params, [g.copy() for g in grads], lr)
        for p, g, mi, vi in zip(ref, grads, m, v):
            mi[...] = b1 * mi + (1 - b1) * g
            vi[...] = b2 * vi + (1 - b2) * g**2
            p -= lr * (mi / (1 - b1**t)) / (np.sqrt(vi / (1 - b2**t)) + eps)
    for p, q in zip(params, ref):
        np.testing.assert_allclose(p, q, rtol=1e-10, atol=1e-12)


def test_training_with_and_without_blas_agree(monkeypatch):
    """Momentum training through BLAS gives the NumPy fallback's weights bit for bit.

    The claim of ``backprop.engine.blas``: β·C + A·B summed over at most 256
    samples rounds as NumPy's separate product and passes do.
    """
    from backprop.engine.train import Trainer

    rng = np.random.default_rng(7)
    X = rng.random((96, 784)).astype(np.float32)
    y = rng.integers(0, 10, 96)

    def train():
        net = Network([784, 100, 10], activation="relu", output="softmax", seed=3)
        Trainer(net, optimizer="momentum", lr=0.05, epochs=2, batch_size=32).fit(X, y)
        return net.params()

    fused = train()
    for table in ("_GEMM", "_AXPY", "_AXPBY"):
        monkeypatch.setattr(blas, table, {})
    plain = train()
    for a, b in zip(fused, plain):
        assert np.array_equal(a, b)
