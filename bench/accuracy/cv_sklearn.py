"""scikit-learn's MLPClassifier() on the same folds as ``cv.py`` (an anchor, not a candidate).

Usage::

    python bench/accuracy/cv_sklearn.py [DATA] [SEED]

DATA is ``digits`` (default) or ``mnist-sample``: the data set's training
part only, 5 stratified folds from ``backprop.selection.stratified_folds``
(seed 0), inputs scaled to [0, 1] by the training folds' maximum.
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import numpy as np
from sklearn.neural_network import MLPClassifier

from backprop.data import load_dataset
from backprop.selection import stratified_folds

data = sys.argv[1] if len(sys.argv) > 1 else "digits"
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
ds = load_dataset(data)
X = ds.X_train.reshape(len(ds.y_train), -1).astype(np.float64)
y = ds.y_train
fold = stratified_folds(y, 5, 0)
correct, start = 0, time.time()
for f in range(5):
    tr, ho = fold != f, fold == f
    m = X[tr].max()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier(random_state=seed).fit(X[tr] / m, y[tr])
    correct += int(np.sum(clf.predict(X[ho] / m) == y[ho]))
print(json.dumps({"name": f"sklearn-MLPClassifier-seed{seed}", "data": data,
                  "accuracy": round(correct / len(y), 4),
                  "seconds": round(time.time() - start, 1)}))
