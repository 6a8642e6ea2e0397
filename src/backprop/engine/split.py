"""Holding out a validation set: a fraction of every class.

In the engine because ``fit(..., validation_split=)`` needs it; ``backprop.data``
re-exports it for the data-set code.
"""

from __future__ import annotations

import math

import numpy as np

from backprop.errors import DataError


def stratified_split(
    X: np.ndarray, y: np.ndarray, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hold out ``fraction`` of every class as a validation set.

    Each class ``c`` with ``n_c`` items gives ``round(fraction * n_c)`` items to
    the validation set, chosen by ``rng.permutation``; both parts keep the
    original order of the items.  The same ``rng`` state gives the same split.

    Parameters
    ----------
    X : numpy.ndarray, shape (N, ...)
    y : numpy.ndarray of int, shape (N,)
    fraction : float
        Strictly between 0 and 1.
    rng : numpy.random.Generator

    Returns
    -------
    X_train : numpy.ndarray, shape (N - M, ...)
    y_train : numpy.ndarray, shape (N - M,)
    X_val : numpy.ndarray, shape (M, ...)
    y_val : numpy.ndarray, shape (M,)
    """
    y = np.asarray(y)
    if not 0.0 < float(fraction) < 1.0:
        raise DataError(
            f"validation fraction must be strictly between 0 and 1, got {fraction}; try 0.1"
        )
    if len(X) != len(y):
        raise DataError(f"X has {len(X)} rows but y has {len(y)} labels; they must match")
    val_mask = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        k = int(math.floor(fraction * len(idx) + 0.5))
        if k:
            val_mask[rng.permutation(idx)[:k]] = True
    if not val_mask.any():
        raise DataError(
            f"validation fraction {fraction} of {len(y)} items leaves the validation set "
            "empty; use a larger fraction or more data"
        )
    train_mask = ~val_mask
    return X[train_mask], y[train_mask], X[val_mask], y[val_mask]
