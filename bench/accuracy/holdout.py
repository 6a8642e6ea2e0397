"""Score one recipe on a validation split of a data set's training images (never its test images).

Usage::

    python bench/accuracy/holdout.py NAME '{"epochs": 30, "shift": 2.0}' [DATA] [FRACTION]

For data sets too large to cross-validate within the session (Fashion-MNIST:
one 120-epoch run is 8 minutes on two cores), the training set is split once,
stratified (seed 0), into FRACTION (default 1/6: 10,000 of Fashion-MNIST's
60,000) held out and the rest to train on.  The JSON is merged over the
``best`` preset's settings for DATA; the network of the last epoch is scored
(no selection on the held-out part).  One JSON line is printed and appended to
``bench/accuracy/holdout-results.jsonl``; the held-out probabilities go to
``bench/accuracy/cv/NAME.npz`` for ensembles.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from backprop.config import TrainConfig
from backprop.data import load_dataset
from backprop.data.preprocess import stratified_split
from backprop.presets import preset_settings
from backprop.selection import _train_fold

HERE = Path(__file__).parent


def main(argv: list[str], variant: dict | None = None) -> None:
    """``variant``: what ``holdout_variants.py`` changed, recorded in the line."""
    name, changes = argv[0], json.loads(argv[1] if len(argv) > 1 else "{}")
    data = argv[2] if len(argv) > 2 else "fashion-mnist"
    fraction = float(argv[3]) if len(argv) > 3 else 1 / 6
    settings = {**preset_settings("best", data), "validation_split": 0.0, **changes}
    settings.pop("time", None)
    settings.pop("updates", None)
    cfg = TrainConfig.from_dict(settings, "holdout settings")
    ds = load_dataset(data)
    X_tr, y_tr, X_ho, y_ho = stratified_split(ds.X_train, ds.y_train, fraction,
                                              np.random.default_rng(0))
    start = time.time()
    p, seconds, epochs = _train_fold(cfg, X_tr, y_tr, X_ho, ds.n_classes, ds.image_shape)
    acc = float(np.mean(p.argmax(axis=1) == y_ho))
    line = {
        "name": name, "data": data, "changes": changes, "held_out": len(y_ho),
        "accuracy": round(acc, 4), "stderr": round(float(np.sqrt(acc * (1 - acc) / len(y_ho))), 4),
        "epochs": epochs, "train_seconds": round(seconds, 1),
        "wall_seconds": round(time.time() - start, 1),
    }
    if variant:
        line["variant"] = variant
    print(json.dumps(line), flush=True)
    with open(HERE / "holdout-results.jsonl", "a") as f:
        f.write(json.dumps(line) + "\n")
    (HERE / "cv").mkdir(exist_ok=True)
    np.savez_compressed(HERE / "cv" / f"{name}.npz", proba=p, y=y_ho)


if __name__ == "__main__":
    main(sys.argv[1:])
