"""k-fold cross-validation (backprop.selection) against scikit-learn's folds and known truths."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.model_selection as sklearn_ms

from backprop.selection import cross_validate, stratified_folds


def _labels(seed: int = 0) -> np.ndarray:
    # the classes first appear in order 0..6: scikit-learn numbers them by first appearance
    rng = np.random.default_rng(seed)
    rest = rng.choice(7, size=496, p=[0.3, 0.2, 0.15, 0.15, 0.1, 0.07, 0.03])
    return np.concatenate([np.arange(7), rest])


@pytest.mark.parametrize("k", [2, 3, 5, 10])
def test_folds_partition_the_data(k):
    y = _labels()
    fold = stratified_folds(y, k, seed=1)
    assert fold.shape == y.shape
    assert set(np.unique(fold)) == set(range(k))  # every sample in exactly one fold 0..k-1


@pytest.mark.parametrize("k", [2, 3, 5, 10])
def test_fold_and_class_counts_match_scikit_learn(k):
    y = _labels()
    fold = stratified_folds(y, k, seed=3)
    skf = sklearn_ms.StratifiedKFold(n_splits=k, shuffle=True, random_state=0)
    theirs = sorted(
        tuple(np.bincount(y[test], minlength=7)) for _, test in skf.split(np.zeros(len(y)), y)
    )
    ours = sorted(tuple(np.bincount(y[fold == f], minlength=7)) for f in range(k))
    assert ours == theirs  # the same number of each class in each fold


def test_folds_are_stratified_and_seeded():
    y = _labels()
    fold = stratified_folds(y, 5, seed=0)
    for c in range(7):
        counts = np.bincount(fold[y == c], minlength=5)
        assert counts.max() - counts.min() <= 1
    assert np.array_equal(fold, stratified_folds(y, 5, seed=0))
    assert not np.array_equal(fold, stratified_folds(y, 5, seed=1))


def test_too_many_folds_is_refused():
    with pytest.raises(ValueError, match="fewer folds"):
        stratified_folds(np.array([0, 0, 1, 1]), 3)
    with pytest.raises(ValueError, match="folds must be"):
        stratified_folds(np.array([0, 1] * 5), 1)


SMALL = {
    "hidden": [8], "epochs": 30, "lr": 0.1, "batch_size": 16, "validation_split": 0.0,
    "scale": "none", "augment": "none", "seed": 0,
}


def test_separable_blobs_are_all_right():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 40)
    centres = np.array([[-5.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    X = centres[y] + rng.normal(0, 0.3, size=(len(y), 2))
    res = cross_validate(SMALL, X, y, folds=4, seed=0)
    assert res.fold_accuracy == [1.0, 1.0, 1.0, 1.0]
    assert res.accuracy == 1.0
    assert res.proba.shape == (120, 3)
    np.testing.assert_allclose(res.proba.sum(axis=1), 1.0, rtol=1e-5)
    assert np.bincount(res.fold).tolist() == [30, 30, 30, 30]
    assert len(res.seconds) == 4 and res.epochs == [30, 30, 30, 30]


def test_held_out_means_unseen():
    # labels independent of the inputs: a network can fit its training folds, but the
    # held-out predictions are coin flips (a leak of held-out samples into training
    # would push them towards 100 %)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 5))
    y = rng.integers(0, 2, size=300)
    res = cross_validate({**SMALL, "hidden": [64], "epochs": 100}, X, y, folds=3, seed=0)
    assert 0.38 < res.accuracy < 0.62  # 0.5 ± 4 standard errors (±0.029)
    assert "3-fold CV accuracy" in res.summary()
