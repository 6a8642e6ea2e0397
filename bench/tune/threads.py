"""One trial's work with 1 and with 2 BLAS threads: is a trial per core the better use of cores?

Usage::

    python bench/tune/threads.py [EPOCHS]

Trains the ``best`` recipe's 784-800-10 network (momentum, batches of 128, no
distortions) on the 3,200 training images of a tune trial on the bundled
sample, EPOCHS epochs (default 3) with BLAS limited to 1 and then to 2
threads (``threadpoolctl``), and prints wall seconds and CPU seconds (user +
system of this process) per epoch.  On a machine whose cores are all busy,
CPU seconds per epoch decide how many epochs the cores deliver; on an idle
one, wall seconds decide how fast one trial ends.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from backprop.config import TrainConfig, build_network
from backprop.data import Preprocessor, load_dataset, stratified_split
from backprop.engine.train import Trainer


def main(epochs: int) -> None:
    ds = load_dataset("mnist-sample")
    X, y, _, _ = stratified_split(ds.X_train, ds.y_train, 0.2, np.random.default_rng(0))
    X = Preprocessor("unit", "float32").fit(X).transform(X)
    cfg = TrainConfig.from_dict({"hidden": [800], "epochs": epochs, "schedule": "cosine",
                                 "validation_split": 0.0})
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            net = build_network(cfg, X.shape[1], 10)
            wall, cpu = time.perf_counter(), os.times()
            Trainer(net, cfg).fit(X, y)
            after = os.times()
            wall = time.perf_counter() - wall
            cpu_s = (after.user - cpu.user) + (after.system - cpu.system)
        print(f"{threads} BLAS thread(s): {wall / epochs:.2f} s wall, {cpu_s / epochs:.2f} s CPU "
              f"per epoch ({epochs} epochs, load average {os.getloadavg()[0]:.1f})", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
