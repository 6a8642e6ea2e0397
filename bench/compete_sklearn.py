"""Competitor: scikit-learn's MLPClassifier, one ``partial_fit`` per epoch (float32, no L2)."""

from __future__ import annotations

import time
import warnings

import numpy as np
from benchlib import emit, load_data, parse_args, time_inference
from sklearn.neural_network import MLPClassifier


def main() -> None:
    args = parse_args(__doc__)
    X, y, Xt, yt = load_data(args)
    args.n_train = len(X)
    solver = {"momentum": "sgd", "adam": "adam"}[args.optimizer]
    clf = MLPClassifier(
        hidden_layer_sizes=tuple(args.layer_sizes[1:-1]), activation="relu", solver=solver,
        alpha=0.0, batch_size=args.batch, learning_rate_init=args.lr, momentum=0.9,
        nesterovs_momentum=False, shuffle=True, random_state=args.seed,
    )
    classes = np.arange(args.layer_sizes[-1])
    seconds = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(args.epochs):
            start = time.perf_counter()
            clf.partial_fit(X, y, classes=classes)
            seconds.append(time.perf_counter() - start)
    accuracy = float((clf.predict(Xt) == yt).mean())
    extra = time_inference(clf.predict, Xt) if args.inference else {}
    emit(args, seconds, accuracy, extra)


if __name__ == "__main__":
    main()
