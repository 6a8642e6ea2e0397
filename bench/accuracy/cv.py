"""Cross-validate one recipe on the bundled sample's 4,000 training digits (never its test digits).

Usage::

    python bench/accuracy/cv.py NAME '{"epochs": 300, "augment": "affine+elastic"}' [DATA]

The JSON is merged over the ``best`` preset's settings for the data set DATA
(``mnist-sample``, the default, or ``digits``; ``fashion-mnist`` works too but
is long).  It runs 5-fold stratified cross-validation
(``backprop.selection.cross_validate``, fold seed 0) over the training set
only, prints one JSON line (per-fold and pooled held-out accuracy, seconds)
and appends it to ``bench/accuracy/cv-results.jsonl``; the held-out
probabilities go to ``bench/accuracy/cv/NAME.npz`` so runs can be ensembled
afterwards (``ensemble.py``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from backprop.data import load_dataset
from backprop.presets import preset_settings
from backprop.selection import cross_validate

HERE = Path(__file__).parent


def main(argv: list[str]) -> None:
    name, changes = argv[0], json.loads(argv[1] if len(argv) > 1 else "{}")
    data = argv[2] if len(argv) > 2 else "mnist-sample"
    folds = int(changes.pop("folds", 5))
    settings = {**preset_settings("best", data), "validation_split": 0.0, **changes}
    settings.pop("time", None)
    ds = load_dataset(data)
    start = time.time()
    res = cross_validate(settings, ds.X_train, ds.y_train, folds=folds, seed=0,
                         image_shape=ds.image_shape)
    line = {
        "name": name, "data": data, "changes": changes, "folds": folds,
        "accuracy": round(res.accuracy, 4), "stderr": round(res.stderr, 4),
        "fold_accuracy": [round(a, 4) for a in res.fold_accuracy],
        "epochs": res.epochs, "train_seconds": round(sum(res.seconds), 1),
        "wall_seconds": round(time.time() - start, 1),
    }
    print(json.dumps(line), flush=True)
    with open(HERE / "cv-results.jsonl", "a") as f:
        f.write(json.dumps(line) + "\n")
    (HERE / "cv").mkdir(exist_ok=True)
    np.savez_compressed(HERE / "cv" / f"{name}.npz", proba=res.proba, y=res.y, fold=res.fold)


if __name__ == "__main__":
    main(sys.argv[1:])
