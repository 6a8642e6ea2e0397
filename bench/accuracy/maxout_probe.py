"""A maxout hidden layer (Goodfellow et al. 2013) on Fashion-MNIST's held-out split, no engine.

Usage::

    python bench/accuracy/maxout_probe.py NAME UNITS PIECES EPOCHS [SEED]

784 inputs → UNITS maxout units of PIECES linear pieces each (PIECES = 0: UNITS
ReLU units instead, to check this loop against the product's) → softmax.  The
rest is the Fashion-MNIST ``best`` recipe, written out here: dropout 0.05 on
the inputs and 0.4 on the hidden units, momentum 0.9, η = 0.05 on a cosine
schedule, minibatches of 128, and ``holdout.py``'s split (10,000 of the 60,000
training images held out, stratified, seed 0).  One JSON line is printed and
appended to ``holdout-results.jsonl``.  The engine has no maxout layer: this
measures whether one would pay before it is built.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from backprop.data import load_dataset
from backprop.data.preprocess import stratified_split

HERE = Path(__file__).parent
INPUT_DROPOUT, DROPOUT, LR, MOMENTUM, BATCH = 0.05, 0.4, 0.05, 0.9, 128


def hidden(X, W1, b1, units: int, pieces: int):
    """(activations (N, units), index of the winning piece per unit or None for ReLU)."""
    z = X @ W1.T + b1
    if pieces == 0:
        return np.maximum(z, 0), None
    zk = z.reshape(len(X), units, pieces)
    win = zk.argmax(axis=2)
    return np.take_along_axis(zk, win[..., None], 2)[..., 0], win


def minibatches(X, epochs: int, lr0: float, input_dropout: float, rng: np.random.Generator):
    """(η on the cosine schedule, indices, inputs after input dropout) of every minibatch."""
    n, n_in = X.shape
    for epoch in range(epochs):
        lr = 0.5 * lr0 * (1 + math.cos(math.pi * epoch / epochs))
        perm = rng.permutation(n)
        for s in range(0, n, BATCH):
            idx = perm[s:s + BATCH]
            keep_in = (rng.random((len(idx), n_in)) >= input_dropout) / (1 - input_dropout)
            yield lr, idx, X[idx] * keep_in.astype(np.float32)


def momentum_step(params, velocity, grads, lr: float) -> None:
    for p, v, g in zip(params, velocity, grads):
        v *= MOMENTUM
        v -= lr * g  # ΔW = αΔW - η∇
        p += v


def train(X, y, units: int, pieces: int, epochs: int, rng: np.random.Generator) -> list:
    n_in = X.shape[1]
    n_hidden = units * max(pieces, 1)
    W1 = (rng.standard_normal((n_hidden, n_in)) * math.sqrt(2.0 / n_in)).astype(np.float32)
    W2 = (rng.standard_normal((10, units)) * math.sqrt(1.0 / units)).astype(np.float32)
    params = [W1, np.zeros(n_hidden, np.float32), W2, np.zeros(10, np.float32)]
    velocity = [np.zeros_like(p) for p in params]
    Y = np.eye(10, dtype=np.float32)[y]
    for lr, idx, Xb in minibatches(X, epochs, LR, INPUT_DROPOUT, rng):
        m = len(idx)
        h, win = hidden(Xb, params[0], params[1], units, pieces)
        mask = ((rng.random(h.shape) >= DROPOUT) / (1 - DROPOUT)).astype(np.float32)
        a2 = h * mask
        z3 = a2 @ params[2].T + params[3]
        a3 = np.exp(z3 - z3.max(1, keepdims=True))
        a3 /= a3.sum(1, keepdims=True)
        delta3 = (a3 - Y[idx]) / m  # (10): δ = a - y, the batch mean
        delta2 = (delta3 @ params[2]) * mask
        if win is None:
            delta2 *= h > 0
        else:  # the gradient reaches the winning piece of each unit only
            spread = np.zeros((m, units, pieces), np.float32)
            np.put_along_axis(spread, win[..., None], delta2[..., None], 2)
            delta2 = spread.reshape(m, n_hidden)
        momentum_step(params, velocity, (delta2.T @ Xb, delta2.sum(0), delta3.T @ a2,
                                         delta3.sum(0)), lr)
    return params


def held_out_split():
    """``holdout.py``'s split of Fashion-MNIST's training images, pixels in [0, 1], flat."""
    ds = load_dataset("fashion-mnist")
    X_tr, y_tr, X_ho, y_ho = stratified_split(ds.X_train, ds.y_train, 1 / 6,
                                              np.random.default_rng(0))
    X_tr = (X_tr.reshape(len(X_tr), -1) / 255.0).astype(np.float32)
    X_ho = (X_ho.reshape(len(X_ho), -1) / 255.0).astype(np.float32)
    return X_tr, y_tr, X_ho, y_ho


def record(name: str, changes: dict, acc: float, n: int, seconds: float, variant: str) -> None:
    """Print the run's line and append it to ``holdout-results.jsonl``."""
    line = {
        "name": name, "data": "fashion-mnist", "changes": changes, "held_out": n,
        "accuracy": round(acc, 4), "stderr": round(math.sqrt(acc * (1 - acc) / n), 4),
        "epochs": changes["epochs"], "train_seconds": round(seconds, 1),
        "variant": {"name": variant},
    }
    print(json.dumps(line), flush=True)
    with open(HERE / "holdout-results.jsonl", "a") as f:
        f.write(json.dumps(line) + "\n")


def main(argv: list[str]) -> None:
    name, units, pieces, epochs = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    seed = int(argv[4]) if len(argv) > 4 else 0
    X_tr, y_tr, X_ho, y_ho = held_out_split()
    start = time.time()
    W1, b1, W2, b2 = train(X_tr, y_tr, units, pieces, epochs, np.random.default_rng(seed))
    seconds = time.time() - start
    h, _ = hidden(X_ho, W1, b1, units, pieces)
    acc = float(((h @ W2.T + b2).argmax(1) == y_ho).mean())
    changes = {"epochs": epochs, "units": units, "maxout_pieces": pieces, "seed": seed}
    record(name, changes, acc, len(y_ho), seconds,
           "maxout_probe.py" if pieces else "maxout_probe.py, ReLU")


if __name__ == "__main__":
    main(sys.argv[1:])
