"""Batch normalisation (Ioffe & Szegedy 2015) on Fashion-MNIST's held-out split, no engine.

Usage::

    python bench/accuracy/batchnorm_probe.py NAME EPOCHS LR [SEED [DROPOUT [INPUT_DROPOUT]]]

784 inputs → 2,048 units: z = W⁽¹⁾x (no bias), normalised over the minibatch,
u = γ ẑ + β, ReLU, dropout (default 0.4) → softmax.  The rest is the
Fashion-MNIST ``best`` recipe written out (as ``maxout_probe.py``): dropout
(default 0.05) on the inputs, momentum 0.9, η = LR on a cosine schedule, minibatches of 128, and
``holdout.py``'s split.  The held-out images are normalised with the mean and
variance of z over all training images under the final weights.  One JSON
line is printed and appended to ``holdout-results.jsonl``.  The engine has no
batch normalisation: this measures whether it would pay before it is built.
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np
from maxout_probe import held_out_split, minibatches, momentum_step, record

UNITS, MOMENTUM, BATCH, EPS = 2048, 0.9, 128, 1e-5
INPUT_DROPOUT, DROPOUT = 0.05, 0.4  # defaults; the command line may change them


def train(X, y, epochs: int, lr0: float, rng: np.random.Generator) -> list:
    n_in = X.shape[1]
    W1 = (rng.standard_normal((UNITS, n_in)) * math.sqrt(2.0 / n_in)).astype(np.float32)
    W2 = (rng.standard_normal((10, UNITS)) * math.sqrt(1.0 / UNITS)).astype(np.float32)
    params = [W1, np.ones(UNITS, np.float32), np.zeros(UNITS, np.float32), W2,
              np.zeros(10, np.float32)]  # W1, γ, β, W2, b2
    velocity = [np.zeros_like(p) for p in params]
    Y = np.eye(10, dtype=np.float32)[y]
    for lr, idx, Xb in minibatches(X, epochs, lr0, INPUT_DROPOUT, rng):
        m = len(idx)
        W1, gamma, beta, W2, b2 = params
        z = Xb @ W1.T
        inv = 1.0 / np.sqrt(z.var(0) + EPS)
        z_hat = (z - z.mean(0)) * inv
        u = gamma * z_hat + beta
        mask = ((rng.random(u.shape) >= DROPOUT) / (1 - DROPOUT)).astype(np.float32)
        a2 = np.maximum(u, 0) * mask
        z3 = a2 @ W2.T + b2
        a3 = np.exp(z3 - z3.max(1, keepdims=True))
        a3 /= a3.sum(1, keepdims=True)
        delta3 = (a3 - Y[idx]) / m  # δ = a - y, the batch mean
        delta_u = (delta3 @ W2) * mask * (u > 0)
        d_hat = delta_u * gamma  # through the normalisation: the batch's mean and variance
        delta_z = inv / m * (m * d_hat - d_hat.sum(0) - z_hat * (d_hat * z_hat).sum(0))
        momentum_step(params, velocity, (delta_z.T @ Xb, (delta_u * z_hat).sum(0),
                                         delta_u.sum(0), delta3.T @ a2, delta3.sum(0)), lr)
    return params


def main(argv: list[str]) -> None:
    name, epochs, lr0 = argv[0], int(argv[1]), float(argv[2])
    seed = int(argv[3]) if len(argv) > 3 else 0
    global DROPOUT, INPUT_DROPOUT
    DROPOUT = float(argv[4]) if len(argv) > 4 else DROPOUT
    INPUT_DROPOUT = float(argv[5]) if len(argv) > 5 else INPUT_DROPOUT
    X_tr, y_tr, X_ho, y_ho = held_out_split()
    start = time.time()
    W1, gamma, beta, W2, b2 = train(X_tr, y_tr, epochs, lr0, np.random.default_rng(seed))
    seconds = time.time() - start
    z = X_tr @ W1.T  # the population's statistics under the final weights
    mu, var = z.mean(0), z.var(0)
    u = gamma * (X_ho @ W1.T - mu) / np.sqrt(var + EPS) + beta
    acc = float(((np.maximum(u, 0) @ W2.T + b2).argmax(1) == y_ho).mean())
    changes = {"epochs": epochs, "lr": lr0, "seed": seed, "dropout": DROPOUT,
               "input_dropout": INPUT_DROPOUT}
    record(name, changes, acc, len(y_ho), seconds, "batchnorm_probe.py")


if __name__ == "__main__":
    main(sys.argv[1:])
