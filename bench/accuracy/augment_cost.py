"""Seconds per epoch spent in augmentation: the ``best`` preset's distortions over N images.

Usage: ``python bench/accuracy/augment_cost.py [N] [BATCH]`` (default 60000, 128).
Compare with the ``seconds`` of an epoch in a run's history.json.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from backprop.config import TrainConfig
from backprop.data.augment import make_augment
from backprop.presets import preset_settings

n = int(sys.argv[1]) if len(sys.argv) > 1 else 60000
bs = int(sys.argv[2]) if len(sys.argv) > 2 else 128
X = np.random.default_rng(0).random((n, 784), dtype=np.float32)
for kind in ("affine", "elastic", "affine+elastic"):
    cfg = TrainConfig.from_dict({**preset_settings("best"), "augment": kind})
    aug = make_augment(cfg, (28, 28))
    rng = np.random.default_rng(1)
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for i in range(0, n, bs):
            aug(X[i : i + bs], rng)
        best = min(best, time.perf_counter() - t)
    print(f"{kind}: {best:.2f} s per epoch of {n} images (batches of {bs})", flush=True)
