"""Train a preset on a data set through the Python API and print one JSON line.

Usage::

    python bench/accuracy/run_preset.py PRESET DATASET [DATA_DIR] [--epochs N]

Same settings as ``backprop train --preset PRESET --dataset DATASET``: the
preset (with its data set overrides) over TrainConfig's defaults, the
preprocessing ``scale``, a stratified validation split drawn with the
network's generator, and the weights of the best validation epoch.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time

import numpy as np

from backprop.config import TrainConfig, build_network
from backprop.data import Preprocessor, load_dataset
from backprop.data.augment import make_augment
from backprop.engine.train import Trainer, split
from backprop.presets import preset_settings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("preset")
    ap.add_argument("dataset")
    ap.add_argument("data_dir", nargs="?")
    ap.add_argument("--epochs", type=int)
    args = ap.parse_args()
    settings = preset_settings(args.preset, args.dataset)
    if args.epochs:
        settings["epochs"] = args.epochs
    cfg = TrainConfig.from_dict({**settings, "dataset": args.dataset})
    ds = load_dataset(args.dataset, data_dir=args.data_dir)
    pre = Preprocessor(scale=cfg.scale).fit(ds.X_train)
    X, Xt = pre.transform(ds.X_train), pre.transform(ds.X_test)
    y, yt = np.asarray(ds.y_train), np.asarray(ds.y_test)
    net = build_network(cfg, X.shape[1], 10)
    val = None
    if cfg.validation_split:
        X, y, Xv, yv = split(X, y, cfg.validation_split, net.rng)
        val = (Xv, yv)
    t0 = time.perf_counter()
    trainer = Trainer(net, cfg, augment=make_augment(cfg, pre.input_shape))
    hist = trainer.fit(X, y, validation_data=val)
    seconds = time.perf_counter() - t0
    acc = float(np.mean(net.predict(Xt) == yt))
    digest = hashlib.sha256(json.dumps(
        [{k: v for k, v in r.items() if k != "seconds"} for r in hist.records]
    ).encode()).hexdigest()[:16]
    print(json.dumps({
        "preset": args.preset, "dataset": args.dataset, "test_acc": acc,
        "seconds": round(seconds, 1), "epochs": len(hist), "best_epoch": hist.best_epoch,
        "last": hist.records[-1], "history_sha": digest,
    }), flush=True)


if __name__ == "__main__":
    main()
