"""Training inputs and targets, checked: labels to one-hot targets, X's shape, accuracy."""

from __future__ import annotations

import numpy as np

from backprop.engine.network import Network

__all__ = ["accuracy", "as_targets", "check_X"]


def as_targets(net: Network, y: np.ndarray, name: str) -> np.ndarray:
    """Integer labels (N,) -> one-hot (N, K); (N, K) targets are passed through."""
    y = np.asarray(y)
    k = net.sizes[-1]
    if y.ndim == 1:
        if not np.issubdtype(y.dtype, np.integer):
            if np.any(np.mod(y, 1) != 0):
                raise ValueError(f"{name} holds non-integer labels; give class indices or (N, {k})")
            y = y.astype(np.int64)
        if k == 1:
            bad = (y < 0) | (y > 1)
            if np.any(bad):
                raise ValueError(f"{name} must hold 0/1 labels for a single output unit")
            return y.reshape(-1, 1).astype(net.dtype)
        if y.size and (y.min() < 0 or y.max() >= k):
            raise ValueError(
                f"{name} holds labels from {y.min()} to {y.max()} but the network has {k} "
                f"outputs; labels must be in 0..{k - 1}"
            )
        Y = np.zeros((len(y), k), dtype=net.dtype)
        Y[np.arange(len(y)), y] = 1
        return Y
    if y.ndim == 2 and y.shape[1] == k:
        return y.astype(net.dtype, copy=False)
    raise ValueError(f"{name} must have shape (N,) labels or (N, {k}) targets, got {y.shape}")


def accuracy(a: np.ndarray, Y: np.ndarray) -> float:
    """Share of rows whose output a (N, K) picks the class of target Y (N, K); K = 1: a > ½."""
    if a.shape[1] == 1:
        return float(np.mean((a[:, 0] > 0.5) == (Y[:, 0] > 0.5)))
    return float(np.mean(a.argmax(axis=1) == Y.argmax(axis=1)))


def check_X(net: Network, X, name: str) -> np.ndarray:
    """X as an (N, n_in) array of the network's dtype, all finite; ValueError naming ``name``."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != net.sizes[0]:
        raise ValueError(f"{name} must have shape (N, {net.sizes[0]}), got {X.shape}")
    X = X.astype(net.dtype, copy=False)
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} contains NaN or infinite values; clean or impute them first")
    return X
