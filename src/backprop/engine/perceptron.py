"""Rosenblatt's single-layer perceptron, the model that cannot learn XOR.

A perceptron predicts ŷ = 1 if w·x + b > 0 else 0, and learns by
w ← w + η (y - ŷ) x, b ← b + η (y - ŷ) (Rosenblatt 1958).

Why it fails on XOR (Minsky & Papert 1969): it would need
    b ≤ 0              (0, 0) -> 0
    w₂ + b > 0         (0, 1) -> 1
    w₁ + b > 0         (1, 0) -> 1
    w₁ + w₂ + b ≤ 0    (1, 1) -> 0
Adding the middle two gives w₁ + w₂ + 2b > 0, so w₁ + w₂ + b > -b ≥ 0,
contradicting the last line.  No (w, b) classifies all four points: at best
three of four (75%).  A hidden layer bends the boundary and solves it.
"""

from __future__ import annotations

import numpy as np


class Perceptron:
    """A single threshold unit trained with the perceptron learning rule.

    Parameters
    ----------
    lr : float, default 1.0
    epochs : int, default 100
    seed : int, optional
        Seed of the shuffle of each epoch.
    """

    def __init__(self, lr: float = 1.0, epochs: int = 100, seed: int | None = None) -> None:
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr!r}")
        self.lr, self.epochs = float(lr), int(epochs)
        self.rng = np.random.default_rng(seed)
        self.w: np.ndarray | None = None
        self.b = 0.0

    def predict(self, X: np.ndarray) -> np.ndarray:
        """0/1 predictions, shape (N,)."""
        return (np.asarray(X, dtype=np.float64) @ self.w + self.b > 0).astype(np.int64)

    def fit(self, X: np.ndarray, y: np.ndarray) -> Perceptron:
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        self.w = np.zeros(X.shape[1])
        self.b = 0.0
        for _ in range(self.epochs):
            errors = 0
            for i in self.rng.permutation(len(X)):
                update = self.lr * (y[i] - (X[i] @ self.w + self.b > 0))
                self.w += update * X[i]
                self.b += update
                errors += int(update != 0)
            if errors == 0:
                break
        return self
