"""The default on tables: scikit-learn's wine, breast cancer and iris, 5-fold CV.

Usage::

    python bench/accuracy/tables.py [NAME ...] [--scale unit|standard]

For each table (default: all three) the ``best`` recipe is fitted to the data
as ``backprop train`` fits it (``backprop.adapt``; ``--scale`` forces a scale,
as the flag does) and cross-validated (``backprop.selection.cross_validate``,
5 stratified folds, seed 0).  scikit-learn's ``MLPClassifier`` (2,000
iterations, random_state 0), alone and after a ``StandardScaler``, is scored
on the same folds.  One JSON line per table.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from types import SimpleNamespace

import numpy as np
from sklearn import datasets
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from backprop.adapt import adapt
from backprop.config import TrainConfig
from backprop.presets import preset_settings
from backprop.selection import cross_validate

TABLES = ("wine", "breast_cancer", "iris")


def peer_accuracy(make, X, y, fold) -> float:
    right = 0
    for k in np.unique(fold):
        model = make().fit(X[fold != k], y[fold != k])
        right += int((model.predict(X[fold == k]) == y[fold == k]).sum())
    return right / len(y)


def main(argv: list[str]) -> None:
    scale = argv[argv.index("--scale") + 1] if "--scale" in argv else None
    names = [a for a in argv if a in TABLES] or list(TABLES)
    warnings.filterwarnings("ignore", category=UserWarning)
    for name in names:
        X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
        given = {"scale": scale} if scale else {}
        cfg = TrainConfig.from_dict({**preset_settings("best"), **given}, "tables")
        cfg, _ = adapt(cfg, SimpleNamespace(X_train=X, y_train=y, image_shape=None), set(given))
        start = time.time()
        res = cross_validate(cfg, X, y, folds=5, seed=0)
        line = {"data": name, "scale": cfg.scale, "epochs": cfg.epochs,
                "backprop": round(100 * res.accuracy, 2), "seconds": round(time.time() - start, 1)}
        for label, make in (
            ("MLPClassifier", lambda: MLPClassifier(max_iter=2000, random_state=0)),
            ("StandardScaler+MLPClassifier", lambda: make_pipeline(
                StandardScaler(), MLPClassifier(max_iter=2000, random_state=0))),
        ):
            line[label] = round(100 * peer_accuracy(make, X, y, res.fold), 2)
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
