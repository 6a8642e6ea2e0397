"""The estimator follows scikit-learn's conventions and learns."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import estimator_checks_generator

from backprop.sklearn import BackpropClassifier


def _checks():
    """scikit-learn's estimator checks, less the Array API one: backprop is NumPy-only."""
    estimator = BackpropClassifier(max_iter=100, learning_rate_init=0.01, random_state=0)
    for est, check in estimator_checks_generator(estimator, legacy=True):
        name = getattr(check, "func", check).__name__
        if name != "check_array_api_input":
            yield pytest.param(est, check, id=name)


@pytest.mark.parametrize("estimator,check", list(_checks()))
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_digits_accuracy_and_string_labels():
    X, y = load_digits(return_X_y=True)
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                      "nine"])[y]
    order = np.random.default_rng(0).permutation(len(X))
    train, test = order[:1400], order[1400:]
    clf = BackpropClassifier(hidden_layer_sizes=(64,), max_iter=30, learning_rate_init=0.01,
                             random_state=0)
    clf.fit(X[train] / 16, names[train])
    assert clf.score(X[test] / 16, names[test]) >= 0.95
    assert set(clf.predict(X[:5] / 16)) <= set(names)
    p = clf.predict_proba(X[:5] / 16)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)


def test_pipeline_and_cross_validation():
    X, y = load_digits(return_X_y=True)
    pipe = make_pipeline(
        StandardScaler(), BackpropClassifier(max_iter=20, learning_rate_init=0.01, random_state=0)
    )
    scores = cross_val_score(pipe, X[:600], y[:600], cv=3)
    assert scores.mean() > 0.85


def test_binary_problem_uses_one_sigmoid_output():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = np.where(X[:, 0] > 0, "yes", "no")
    clf = BackpropClassifier(max_iter=50, learning_rate_init=0.01, random_state=0).fit(X, y)
    assert clf.network_.sizes[-1] == 1
    assert clf.score(X, y) > 0.95


def test_same_random_state_same_model():
    X, y = load_digits(return_X_y=True)
    a = BackpropClassifier(max_iter=3, random_state=7).fit(X[:300], y[:300])
    b = clone(a).fit(X[:300], y[:300])
    assert a.loss_curve_ == b.loss_curve_


def test_early_stopping_records_validation_scores():
    X, y = load_digits(return_X_y=True)
    clf = BackpropClassifier(max_iter=100, early_stopping=True, n_iter_no_change=2,
                             learning_rate_init=0.05, random_state=0).fit(X / 16, y)
    assert len(clf.validation_scores_) == clf.n_iter_ < 100


def test_single_class_is_an_error():
    with pytest.raises(ValueError, match="1 class"):
        BackpropClassifier().fit(np.zeros((5, 2)), np.ones(5))
