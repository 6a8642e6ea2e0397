"""The estimator follows scikit-learn's conventions, MLPClassifier's parameters, and learns."""

from __future__ import annotations

import inspect
import re
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import estimator_checks_generator

from backprop.sklearn import UNSUPPORTED, BackpropClassifier


def _checks():
    """scikit-learn's estimator checks, less the Array API one: backprop is NumPy-only.

    Also with batch normalisation, whose predictions must not depend on the batch either.
    """
    for batch_norm in (False, True):
        estimator = BackpropClassifier(max_iter=100, learning_rate_init=0.01, random_state=0,
                                       batch_norm=batch_norm)
        for est, check in estimator_checks_generator(estimator, legacy=True):
            name = getattr(check, "func", check).__name__
            if name != "check_array_api_input":
                yield pytest.param(est, check, id=name + ("-batch_norm" if batch_norm else ""))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("estimator,check", list(_checks()))
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


# --------------------------------------------------------------------------- parameters


def test_every_mlpclassifier_parameter_is_taken_with_its_default_or_refused():
    ours = inspect.signature(BackpropClassifier).parameters
    theirs = inspect.signature(MLPClassifier).parameters
    for name, p in theirs.items():
        if name in UNSUPPORTED:
            assert ours[name].default is None
            with pytest.raises(ValueError, match=f"parameter {name}: .*leave it out"):
                BackpropClassifier(**{name: p.default}).fit([[0.0], [1.0]], [0, 1])
        else:
            assert name in ours, f"MLPClassifier's {name!r} is neither taken nor refused"
            assert ours[name].default == p.default, name
            assert ours[name].kind == p.kind, name


def test_unknown_parameters_and_lbfgs_are_refused_by_name(digits):
    X, y = digits
    with pytest.raises(TypeError, match="'learning_rate_inti'"):
        BackpropClassifier(learning_rate_inti=0.1)
    with pytest.raises(ValueError, match="Invalid parameter 'momentun'"):
        BackpropClassifier().set_params(momentun=0.5)
    with pytest.raises(ValueError, match="solver='lbfgs' is not available"):
        BackpropClassifier(solver="lbfgs").fit(X, y)


@pytest.mark.parametrize("name,value", [
    ("hidden_layer_sizes", (10, 0)), ("activation", "softplus"), ("solver", "rmsprop"),
    ("alpha", -1.0), ("batch_size", 0), ("learning_rate", "optimal"),
    ("learning_rate_init", 0.0), ("power_t", -0.5), ("max_iter", 0), ("tol", -1e-4),
    ("momentum", 1.5), ("beta_1", 1.0), ("beta_2", -0.1), ("epsilon", 0.0),
    ("validation_fraction", 1.0), ("n_iter_no_change", 0), ("dropout", 1.0),
    ("dtype", "float16"), ("shuffle", "yes"), ("hidden_layer_sizes", "wide"),
])
def test_bad_values_name_the_parameter(digits, name, value):
    X, y = digits
    with pytest.raises(ValueError, match=re.escape(f"BackpropClassifier: {name} = {value!r} ")):
        BackpropClassifier(**{name: value}).fit(X[:50], y[:50])


def test_verbose_prints_an_epoch_line_per_iteration(digits, capsys):
    X, y = digits
    clf = BackpropClassifier(max_iter=3, verbose=True, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X[:200], y[:200])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[0] for line in lines] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert lines[-1].split("  ")[1] == f"loss {clf.loss_curve_[-1]:.4f}"


# --------------------------------------------------------------------------- stopping


def test_convergence_warning_exactly_when_max_iter_runs_out(digits):
    X, y = digits
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(5\) reached"):
        BackpropClassifier(max_iter=5, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = BackpropClassifier(max_iter=200, tol=0.05, n_iter_no_change=2,
                                 random_state=0).fit(X, y)
    assert clf.n_iter_ < 200


@pytest.mark.parametrize("n", [1, 3])
def test_tol_rule_stops_where_mlpclassifier_does(digits, n):
    """With a tol no epoch can meet, both stop after n_iter_no_change + 2 epochs.

    (The first epoch always improves on the initial best loss, +inf.)"""
    X, y = digits
    theirs = MLPClassifier(tol=1e9, n_iter_no_change=n, max_iter=50, random_state=0).fit(X, y)
    ours = BackpropClassifier(tol=1e9, n_iter_no_change=n, max_iter=50, random_state=0).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_ == n + 2


def test_adaptive_rate_divides_by_5_and_stops_where_mlpclassifier_does(digits):
    X, y = digits
    kw = dict(solver="sgd", learning_rate="adaptive", tol=1e9, n_iter_no_change=1,
              max_iter=100, random_state=0)
    theirs = MLPClassifier(**kw).fit(X, y)
    ours = BackpropClassifier(**kw).fit(X, y)
    # epochs 1-3 at η; then η/5 after every second epoch until η < 1e-6, then stop
    expected = [1e-3] * 3 + [1e-3 / 5**k for k in range(1, 6) for _ in range(2)]
    assert ours.n_iter_ == theirs.n_iter_ == len(expected) == 13
    np.testing.assert_allclose(ours.history_["lr"], expected, rtol=1e-12)


def test_invscaling_rate_per_epoch(digits):
    X, y = digits
    n = len(X)
    clf = BackpropClassifier(solver="sgd", learning_rate="invscaling", learning_rate_init=0.5,
                             power_t=0.5, max_iter=4, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    expected = [0.5 / (e * n + 1) ** 0.5 for e in range(4)]
    np.testing.assert_allclose(clf.history_["lr"], expected, rtol=1e-12)
    assert clf.t_ == 4 * n


def test_the_tol_rule_applied_to_the_unstopped_curve(digits):
    X, y = digits
    kw = dict(max_iter=60, learning_rate_init=0.01, random_state=0)
    with pytest.warns(ConvergenceWarning):
        free = BackpropClassifier(tol=0.0, n_iter_no_change=60, **kw).fit(X, y).loss_curve_
    tol, n = 2e-3, 2
    best, count, stop = np.inf, 0, None
    for epoch, loss in enumerate(free, start=1):
        count = count + 1 if loss > best - tol else 0
        best = min(best, loss)
        if count > n:
            stop = epoch
            break
    assert stop is not None and stop < 60
    clf = BackpropClassifier(tol=tol, n_iter_no_change=n, **kw).fit(X, y)
    assert clf.n_iter_ == stop
    assert clf.loss_curve_ == free[:stop]
    assert clf.best_loss_ == min(free[:stop])


def test_early_stopping_keeps_the_best_validation_epoch(digits):
    X, y = digits
    clf = BackpropClassifier(max_iter=100, early_stopping=True, n_iter_no_change=2,
                             learning_rate_init=0.05, random_state=0).fit(X, y)
    assert len(clf.validation_scores_) == clf.n_iter_ < 100
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None


# --------------------------------------------------------------------------- incremental


def test_partial_fit_epochs_equal_fit_epochs_bit_for_bit(digits):
    X, y = digits
    kw = dict(hidden_layer_sizes=(32,), learning_rate_init=0.01, random_state=3)
    inc = BackpropClassifier(**kw)
    for _ in range(5):
        inc.partial_fit(X, y, classes=np.arange(10))
    with pytest.warns(ConvergenceWarning):
        full = BackpropClassifier(max_iter=5, tol=0.0, **kw).fit(X, y)
    assert inc.loss_curve_ == full.loss_curve_
    assert inc.n_iter_ == 5 and inc.t_ == 5 * len(X)
    for a, b in zip(inc.coefs_, full.coefs_):
        np.testing.assert_array_equal(a, b)
    assert inc.score(X, y) > 0.9


def test_partial_fit_needs_classes_first_and_keeps_them(digits):
    X, y = digits
    clf = BackpropClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[y < 5], y[y < 5], classes=np.arange(10))  # some classes not seen yet
    assert clf.classes_.tolist() == list(range(10))
    clf.partial_fit(X[y >= 5], y[y >= 5])
    with pytest.raises(ValueError, match=r"classes \[10\] that are not in classes_"):
        clf.partial_fit(X[:3], np.array([1, 2, 10]))
    with pytest.raises(ValueError, match="differ from the first call"):
        clf.partial_fit(X, y, classes=np.arange(11))


def test_warm_start_continues_from_the_last_fit(digits):
    X, y = digits
    clf = BackpropClassifier(max_iter=4, warm_start=True, learning_rate_init=0.01,
                             random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    first = list(clf.loss_curve_)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    assert clf.n_iter_ == 8 and clf.loss_curve_[:4] == first
    assert clf.loss_curve_[4] < first[0] / 3  # it went on from trained weights
    with pytest.warns(ConvergenceWarning):
        cold = clone(clf).set_params(warm_start=False).fit(X, y).fit(X, y)
    assert cold.n_iter_ == 4
    with pytest.raises(ValueError, match="not in classes_"):
        clf.fit(X, y + 1)


def test_sgd_solver_is_nesterov_momentum_like_scikit_learn(digits):
    X, y = digits
    kw = dict(max_iter=3, learning_rate_init=0.05, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        curve = {s: BackpropClassifier(solver=s, **kw).fit(X, y).loss_curve_
                 for s in ("sgd", "nesterov", "momentum")}
        plain = BackpropClassifier(solver="sgd", momentum=0.0, **kw).fit(X, y).loss_curve_
        classic = BackpropClassifier(solver="sgd", nesterovs_momentum=False, **kw).fit(X, y)
    assert curve["sgd"] == curve["nesterov"] != curve["momentum"]
    assert classic.loss_curve_ == curve["momentum"]
    assert plain not in (curve["nesterov"], curve["momentum"])


def test_coefs_are_laid_out_like_mlpclassifier(digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for labels in (y, y % 2):  # ten classes, and two (one sigmoid output in both)
            ours = BackpropClassifier((20, 7), max_iter=2, random_state=0).fit(X, labels)
            theirs = MLPClassifier((20, 7), max_iter=2, random_state=0).fit(X, labels)
            assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
            assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]
            z = X @ ours.coefs_[0] + ours.intercepts_[0]
            np.testing.assert_allclose(z, X @ ours.network_.layers[0].W.T
                                       + ours.network_.layers[0].b)


# --------------------------------------------------------------------------- learning


def test_digits_accuracy_and_string_labels():
    X, y = load_digits(return_X_y=True)
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                      "nine"])[y]
    order = np.random.default_rng(0).permutation(len(X))
    train, test = order[:1400], order[1400:]
    clf = BackpropClassifier(hidden_layer_sizes=(64,), max_iter=30, learning_rate_init=0.01,
                             random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X[train] / 16, names[train])
    assert clf.score(X[test] / 16, names[test]) >= 0.95
    assert set(clf.predict(X[:5] / 16)) <= set(names)
    p = clf.predict_proba(X[:5] / 16)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_pipeline_and_cross_validation():
    X, y = load_digits(return_X_y=True)
    pipe = make_pipeline(
        StandardScaler(), BackpropClassifier(max_iter=20, learning_rate_init=0.01, random_state=0)
    )
    scores = cross_val_score(pipe, X[:600], y[:600], cv=3)
    assert scores.mean() > 0.85


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_binary_problem_uses_one_sigmoid_output():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = np.where(X[:, 0] > 0, "yes", "no")
    clf = BackpropClassifier(max_iter=50, learning_rate_init=0.01, random_state=0).fit(X, y)
    assert clf.network_.sizes[-1] == 1
    assert clf.score(X, y) > 0.95


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_same_random_state_same_model(digits):
    X, y = digits
    a = BackpropClassifier(max_iter=3, random_state=7).fit(X[:300], y[:300])
    b = clone(a).fit(X[:300], y[:300])
    assert a.loss_curve_ == b.loss_curve_
    c = BackpropClassifier(max_iter=3, random_state=np.random.RandomState(7)).fit(X[:300],
                                                                                   y[:300])
    assert c.loss_curve_ == a.loss_curve_


def test_single_class_is_an_error():
    with pytest.raises(ValueError, match="1 class"):
        BackpropClassifier().fit(np.zeros((5, 2)), np.ones(5))


def test_batch_norm_coefs_are_the_map_predict_proba_applies(digits):
    X, y = digits
    X = X / 16.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = BackpropClassifier((30, 20), batch_norm=True, max_iter=60, random_state=0)
        clf.fit(X[:1400], y[:1400])
    a = X[1400:]
    for W, b in zip(clf.coefs_[:-1], clf.intercepts_[:-1]):  # ReLU hidden layers, by hand
        a = np.maximum(a @ W + b, 0.0)
    z = a @ clf.coefs_[-1] + clf.intercepts_[-1]
    proba = np.exp(z - z.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(X[1400:]), proba, rtol=1e-10, atol=1e-12)
    assert clf.score(X[1400:], y[1400:]) > 0.85  # without batch norm: 0.88 at 50 epochs
