"""k-fold cross-validation: compare training recipes on held-out folds, never on a test set.

``cross_validate(settings, X, y, folds=5, seed=0)`` splits ``(X, y)`` into
``folds`` stratified folds, trains one network per fold on the other folds
with the recipe ``settings`` (a ``backprop.config.TrainConfig`` or a dict of
its fields), and predicts the held-out fold.  Every sample is held out exactly
once, so the pooled accuracy is measured on ``len(y)`` predictions: its
standard error is about √(p(1 − p)/N), ±0.2 points for 4,000 digits at 98 %.

The held-out class probabilities are returned too (``CVResult.proba``), so
recipes can be combined afterwards: the accuracy of the average of several
runs' ``proba`` is the cross-validated accuracy of their ensemble.  A recipe
with ``ensemble = k`` trains that ensemble itself in each fold (``k``
networks, seeds ``seed`` to ``seed + k - 1``, probabilities averaged).

The folds follow scikit-learn's ``StratifiedKFold`` allocation: the labels,
sorted, are dealt to the folds in turn, which fixes how many samples of each
class every fold gets (fold sizes differ by at most one, and each class's
counts by at most one); which samples those are is drawn with ``seed``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

__all__ = ["CVResult", "stratified_folds", "cross_validate"]


@dataclass
class CVResult:
    """What :func:`cross_validate` measured.

    Attributes
    ----------
    fold_accuracy : list of float
        Held-out accuracy of each fold's network, in fold order.
    accuracy : float
        Pooled held-out accuracy: correct predictions over all N samples.
    proba : numpy.ndarray, shape (N, K)
        Held-out class probabilities of every sample (from the network that
        did not train on it).
    fold : numpy.ndarray of int, shape (N,)
        The fold that held out each sample.
    y : numpy.ndarray of int, shape (N,)
        The labels.
    seconds : list of float
        Training seconds of each fold.
    epochs : list of int
        Epochs each fold trained.
    """

    fold_accuracy: list[float]
    accuracy: float
    proba: np.ndarray
    fold: np.ndarray
    y: np.ndarray
    seconds: list[float] = field(default_factory=list)
    epochs: list[int] = field(default_factory=list)

    @property
    def stderr(self) -> float:
        """Binomial standard error of the pooled accuracy, √(p(1 − p)/N)."""
        p, n = self.accuracy, len(self.y)
        return float(np.sqrt(p * (1.0 - p) / max(n, 1)))

    def summary(self) -> str:
        """``5-fold CV accuracy 97.95 % ± 0.22 (folds 97.6-98.4 %), 4,000 held out, 120.3 s``."""
        folds = self.fold_accuracy
        return (
            f"{len(folds)}-fold CV accuracy {self.accuracy:.2%} ± {self.stderr:.2%} "
            f"(folds {min(folds):.2%}-{max(folds):.2%}), {len(self.y):,} held out, "
            f"{sum(self.seconds):.1f} s"
        )


def stratified_folds(y: np.ndarray, folds: int = 5, seed: int = 0) -> np.ndarray:
    """The fold (0..folds-1) of every sample, stratified by class.

    Parameters
    ----------
    y : array_like of int, shape (N,)
        Class labels.
    folds : int
        Number of folds k, 2 ≤ k ≤ the size of the largest class (a class
        with fewer than k samples is absent from some folds).
    seed : int
        Seed of the draw of which samples of a class go to which fold.

    Returns
    -------
    numpy.ndarray of int, shape (N,)
        ``fold[i]`` is the fold that holds out sample ``i``.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"cross-validation needs labels of shape (N,), got {y.shape}")
    if not isinstance(folds, (int, np.integer)) or folds < 2:
        raise ValueError(f"folds must be an integer ≥ 2, got {folds!r}")
    classes, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    if folds > len(y) or folds > counts.max():
        raise ValueError(
            f"{folds} folds need at least {folds} samples of some class, but the largest "
            f"class has {counts.max()}; use fewer folds"
        )
    # deal the sorted labels to the folds in turn: allocation[f, c] samples of class c in fold f
    order = np.sort(codes)
    allocation = np.stack(
        [np.bincount(order[f::folds], minlength=len(classes)) for f in range(folds)]
    )
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=np.int64)
    for c in range(len(classes)):
        members = rng.permutation(np.flatnonzero(codes == c))
        fold[members] = np.repeat(np.arange(folds), allocation[:, c])
    return fold


def _config(settings):
    from backprop.config import TrainConfig

    if isinstance(settings, TrainConfig):
        return settings
    return TrainConfig.from_dict(dict(settings), "cross_validate settings")


def _train_fold(cfg, X_tr, y_tr, X_ho, n_classes: int, image_shape):
    """Train on (X_tr, y_tr); return (held-out probabilities, seconds, epochs).

    With ``cfg.ensemble = k > 1``, k networks (seeds seed, seed+1, ...; see
    ``backprop.ensemble``) whose probabilities are averaged; the epochs are
    network 1's, the seconds all networks'.
    """
    from backprop.config import build_network
    from backprop.data.augment import make_augment
    from backprop.data.preprocess import Preprocessor, stratified_split
    from backprop.engine.train import Trainer
    from backprop.ensemble import average_proba, fit_ensemble

    val = None
    if cfg.validation_split:
        rng = np.random.default_rng(cfg.seed)
        X_tr, y_tr, Xv, yv = stratified_split(X_tr, y_tr, cfg.validation_split, rng)
        val = (Xv, yv)
    pre = Preprocessor(scale=cfg.scale, dtype=cfg.dtype).fit(X_tr)
    Xt = pre.transform(X_tr)
    if val is not None:
        val = (pre.transform(val[0]), val[1])
    augment = make_augment(cfg, image_shape)
    if cfg.ensemble > 1:
        start = time.perf_counter()
        nets, histories = fit_ensemble(cfg, Xt, y_tr, val, n_classes=n_classes,
                                       augment=augment)
        seconds = time.perf_counter() - start
        return average_proba(nets, pre.transform(X_ho)), seconds, len(histories[0])
    net = build_network(cfg, Xt.shape[1], n_classes)
    trainer = Trainer(net, cfg, augment=augment)
    start = time.perf_counter()
    history = trainer.fit(Xt, y_tr, val)
    seconds = time.perf_counter() - start
    p = net.predict_proba(pre.transform(X_ho))
    if p.shape[1] == 1:  # one sigmoid unit: P(class 1)
        p = np.hstack([1.0 - p, p])
    return p, seconds, len(history)


def cross_validate(settings, X, y, folds: int = 5, seed: int = 0, image_shape=None) -> CVResult:
    """Held-out accuracy of a training recipe by stratified k-fold cross-validation.

    Parameters
    ----------
    settings : backprop.config.TrainConfig or dict
        The recipe (``TrainConfig`` field names; ``dataset`` and
        ``data_dir`` are ignored).  Its ``seed`` seeds each fold's network;
        a ``validation_split`` is held out of each fold's training part.
    X : array_like, shape (N, ...)
        Samples (images (N, H, W) or rows (N, D)); preprocessing is fitted on
        each fold's training part only.
    y : array_like of int, shape (N,)
        Class labels 0..K-1.
    folds : int, default 5
    seed : int, default 0
        Seed of the fold assignment (:func:`stratified_folds`).
    image_shape : tuple of int, optional
        (H, W) of one sample, for augmentation; default ``X.shape[1:]`` when X
        holds 2-D images.

    Returns
    -------
    CVResult
    """
    cfg = _config(settings)
    X = np.asarray(X)
    y = np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")
    if image_shape is None and X.ndim == 3:
        image_shape = X.shape[1:]
    fold = stratified_folds(y, folds, seed)
    n_classes = int(y.max()) + 1
    proba = np.zeros((len(y), n_classes))
    accuracy, seconds, epochs = [], [], []
    for f in range(folds):
        held = fold == f
        p, s, e = _train_fold(cfg, X[~held], y[~held], X[held], n_classes, image_shape)
        proba[held] = p
        accuracy.append(float(np.mean(p.argmax(axis=1) == y[held])))
        seconds.append(s)
        epochs.append(e)
    pooled = float(np.mean(proba.argmax(axis=1) == y))
    return CVResult(accuracy, pooled, proba, fold, y, seconds, epochs)
