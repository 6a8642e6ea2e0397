"""Reference: the plain vectorised NumPy MLP of the issue (the obvious code, temporaries and all).

The yardstick for speed and for peak memory (the issue's "plain version").
"""

from __future__ import annotations

import time

import numpy as np
from benchlib import emit, load_data, parse_args, time_inference


def main() -> None:
    args = parse_args(__doc__)
    X, y, Xt, yt = load_data(args)
    args.n_train = len(X)
    rng = np.random.default_rng(args.seed)
    sizes = args.layer_sizes
    Ws = [rng.normal(0, np.sqrt(2 / a), (b, a)).astype(np.float32)
          for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [np.zeros(b, np.float32) for b in sizes[1:]]
    params = [p for pair in zip(Ws, bs) for p in pair]
    state1 = [np.zeros_like(p) for p in params]
    state2 = [np.zeros_like(p) for p in params]
    Y = np.eye(sizes[-1], dtype=np.float32)[y]

    def forward(a):
        acts = [a]
        for i, (W, b) in enumerate(zip(Ws, bs)):
            z = a @ W.T + b
            if i < len(Ws) - 1:
                a = np.maximum(z, 0)
            else:
                e = np.exp(z - z.max(axis=1, keepdims=True))
                a = e / e.sum(axis=1, keepdims=True)
            acts.append(a)
        return acts

    seconds, t = [], 0
    for _ in range(args.epochs):
        start = time.perf_counter()
        perm = rng.permutation(len(X))
        for s in range(0, len(X), args.batch):
            idx = perm[s : s + args.batch]
            acts = forward(X[idx])
            delta = (acts[-1] - Y[idx]) / len(idx)
            grads = []
            for i in range(len(Ws) - 1, -1, -1):
                grads = [delta.T @ acts[i], delta.sum(axis=0)] + grads
                if i:
                    delta = (delta @ Ws[i]) * (acts[i] > 0)
            t += 1
            for p, g, m, v in zip(params, grads, state1, state2):
                if args.optimizer == "momentum":
                    m[...] = 0.9 * m - args.lr * g
                    p += m
                else:
                    m[...] = 0.9 * m + 0.1 * g
                    v[...] = 0.999 * v + 0.001 * g * g
                    mh, vh = m / (1 - 0.9**t), v / (1 - 0.999**t)
                    p -= args.lr * mh / (np.sqrt(vh) + 1e-8)
        seconds.append(time.perf_counter() - start)

    def predict(x):
        return forward(x)[-1].argmax(axis=1)

    accuracy = float((predict(Xt) == yt).mean())
    extra = time_inference(predict, Xt) if args.inference else {}
    emit(args, seconds, accuracy, extra)


if __name__ == "__main__":
    main()
