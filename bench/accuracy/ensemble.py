"""Score ensembles of runs already cross-validated: average their held-out probabilities.

Usage::

    python bench/accuracy/ensemble.py NAME NAME [NAME ...]

Each NAME is a run of ``cv.py`` or ``holdout.py`` (``bench/accuracy/cv/NAME.npz``,
same folds or split, different seeds).  Prints each run's held-out accuracy,
then for every size k ≥ 2 the accuracy of each k-subset's averaged
probabilities and their mean: what ``--ensemble k`` would score on the same
held-out data, without training anything again.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent


def main(names: list[str]) -> None:
    runs = [np.load(HERE / "cv" / f"{n}.npz") for n in names]
    y = runs[0]["y"]
    if any(not np.array_equal(r["y"], y) for r in runs):
        raise SystemExit("the runs did not hold out the same samples; compare runs of one split")
    for name, run in zip(names, runs):
        print(f"{name}: {np.mean(run['proba'].argmax(1) == y):.2%}")
    for k in range(2, len(runs) + 1):
        accs = [float(np.mean(sum(runs[i]["proba"] for i in c).argmax(1) == y))
                for c in itertools.combinations(range(len(runs)), k)]
        print(f"ensembles of {k}: " + ", ".join(f"{a:.2%}" for a in accs)
              + f"  (mean {np.mean(accs):.2%})")


if __name__ == "__main__":
    main(sys.argv[1:])
