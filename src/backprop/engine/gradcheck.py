"""Gradient checking: backward() against central finite differences, in float64.

For each parameter entry θ_i, the numerical derivative is

    ∂J/∂θ_i ≈ (J(θ + h e_i) - J(θ - h e_i)) / 2h,

whose error is O(h²).  The relative error of a parameter array compares the
analytic gradient g (from ``Network.backward``) with the numerical one n:

    ‖g - n‖ / max(‖g‖ + ‖n‖, tiny).

In float64 with h = 1e-5 (round-off ≈ ε·J/h, truncation ≈ h²) a correct
backward pass gives about 1e-8 or less;
an error in an equation gives something near 1.
"""

from __future__ import annotations

import numpy as np

from backprop.engine.network import Network


def relative_error(g: np.ndarray, n: np.ndarray) -> float:
    """‖g - n‖ / (‖g‖ + ‖n‖), and 0 when both are 0."""
    denom = np.linalg.norm(g) + np.linalg.norm(n)
    return 0.0 if denom == 0 else float(np.linalg.norm(g - n) / denom)


def numerical_gradients(
    net: Network,
    X: np.ndarray,
    Y: np.ndarray,
    l1: float = 0.0,
    l2: float = 0.0,
    h: float = 1e-5,
    indices: list[np.ndarray] | None = None,
) -> list[np.ndarray]:
    """Central-difference gradients of ``net.batch_cost`` for every parameter array.

    ``indices`` (one array of flat indices per parameter) limits the entries
    that are perturbed; the others are left 0.
    """
    grads = []
    for k, p in enumerate(net.params()):
        flat = p.reshape(-1)
        num = np.zeros(p.size, dtype=np.float64)
        which = range(p.size) if indices is None else indices[k]
        for i in which:
            old = flat[i]
            flat[i] = old + h
            plus = net.batch_cost(X, Y, l1, l2)
            flat[i] = old - h
            minus = net.batch_cost(X, Y, l1, l2)
            flat[i] = old
            num[i] = (plus - minus) / (2 * h)
        grads.append(num.reshape(p.shape))
    return grads


def gradient_check(
    net: Network,
    X: np.ndarray,
    Y: np.ndarray,
    l1: float = 0.0,
    l2: float = 0.0,
    h: float = 1e-5,
    max_entries: int | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """Relative error between backward() and central differences, per parameter array.

    Parameters
    ----------
    net : Network
        Checked on a float64 copy without dropout; ``net`` itself is unchanged.
    X : ndarray, shape (N, n_in)
    Y : ndarray, shape (N, n_out) targets, or (N,) integer labels
    l1, l2 : float
        Regularisation included in the cost and in the gradient.
    h : float
        Finite-difference step.
    max_entries : int, optional
        Check at most this many randomly chosen entries of each array (for
        large layers); the analytic gradient is compared on those entries.
    seed : int
        Seed for choosing those entries.

    Returns
    -------
    dict
        ``{"W1": err, "b1": err, ...}``.
    """
    cfg = net.config()
    cfg.update(dtype="float64", dropout=[0.0] * len(cfg["dropout"]), input_dropout=0.0)
    net64 = Network.from_config(cfg, [p.astype(np.float64) for p in net.get_params()])
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y)
    if Y.ndim == 1:
        k = net64.sizes[-1]
        Y = (Y.reshape(-1, 1) if k == 1 else np.eye(k)[Y.astype(int)]).astype(np.float64)
    Y = Y.astype(np.float64)
    analytic = net64.gradients(X, Y, l1, l2)
    indices = None
    if max_entries is not None:
        rng = np.random.default_rng(seed)
        indices = [
            np.arange(p.size) if p.size <= max_entries
            else rng.choice(p.size, max_entries, replace=False)
            for p in net64.params()
        ]
    numeric = numerical_gradients(net64, X, Y, l1, l2, h, indices)
    result = {}
    for k, name in enumerate(net64.param_names()):
        g, n = analytic[k].reshape(-1), numeric[k].reshape(-1)
        if indices is not None:
            g, n = g[indices[k]], n[indices[k]]
        result[name] = relative_error(g, n)
    return result
