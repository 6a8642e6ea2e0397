"""Hyper-parameter sweep of ``best`` candidates: one process runs a list of configs.

Usage::

    python bench/accuracy/sweep.py CANDIDATES.json NAME[,NAME...] OUT.jsonl [DATA_DIR]

Each candidate is a dict of TrainConfig fields plus ``"data"``
(``"fashion-mnist"`` or ``"mnist-sample"``).  A 10 % stratified validation
split of the training set chooses the epoch (the trainer restores the best
validation weights), as ``backprop train`` does; the test accuracy is logged
every epoch for the record only and never used to choose.  One JSON line per
epoch and one per finished run go to OUT.jsonl.
"""

from __future__ import annotations

import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np

from backprop.config import TrainConfig, build_network
from backprop.data.augment import make_augment
from backprop.engine.train import Callback, Trainer, split


def read_idx_gz(path: Path) -> np.ndarray:
    """IDX file (gzip) -> array; a few lines, for machines without backprop.data."""
    raw = gzip.open(path, "rb").read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(data: str, data_dir: Path) -> tuple[np.ndarray, ...]:
    folder = data_dir / data
    if data == "mnist-sample":
        folder = Path(__file__).resolve().parents[2] / "src/backprop/data/mnist_sample"
    out = []
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        out.append(read_idx_gz(folder / f"{stem}.gz"))
    Xtr, ytr, Xte, yte = out
    scale = {"unit": 255.0}
    Xtr = (Xtr.reshape(len(Xtr), -1) / np.float32(scale["unit"])).astype(np.float32)
    Xte = (Xte.reshape(len(Xte), -1) / np.float32(scale["unit"])).astype(np.float32)
    return Xtr, ytr.astype(np.int64), Xte, yte.astype(np.int64)


class Log(Callback):
    def __init__(self, f, name: str, net, Xte, yte) -> None:
        self.f, self.name, self.net, self.Xte, self.yte = f, name, net, Xte, yte

    def on_epoch_end(self, trainer, epoch, record):
        test = float(np.mean(self.net.predict(self.Xte) == self.yte))
        row = {"name": self.name, **record, "test_acc": test}
        self.f.write(json.dumps(row) + "\n")
        self.f.flush()


def main() -> None:
    cands = json.loads(Path(sys.argv[1]).read_text())
    names = sys.argv[2].split(",")
    out = Path(sys.argv[3])
    data_dir = Path(sys.argv[4]) if len(sys.argv) > 4 else Path(".sweepdata")
    with out.open("a") as f:
        for name in names:
            spec = dict(cands[name])
            data = spec.pop("data")
            cfg = TrainConfig.from_dict(spec)
            Xtr, ytr, Xte, yte = load(data, data_dir)
            net = build_network(cfg, 784, 10)
            if cfg.validation_split:
                Xtr, ytr, Xv, yv = split(Xtr, ytr, cfg.validation_split, net.rng)
                val = (Xv, yv)
            else:
                val = None
            t0 = time.perf_counter()
            trainer = Trainer(
                net, cfg, augment=make_augment(cfg, (28, 28)),
                callbacks=[Log(f, name, net, Xte, yte)],
            )
            hist = trainer.fit(Xtr, ytr, validation_data=val)
            secs = time.perf_counter() - t0
            test = float(np.mean(net.predict(Xte) == yte))
            row = {"name": name, "final": True, "test_acc": test, "seconds": secs,
                   "best_epoch": hist.best_epoch, "epochs": len(hist)}
            f.write(json.dumps(row) + "\n")
            f.flush()
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
