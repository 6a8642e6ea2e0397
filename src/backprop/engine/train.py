"""The training loop: epochs of shuffled minibatches, validation, early stopping.

``fit(net, X, y, ...)`` is the one-call form; ``Trainer`` holds the state
(epoch, position in the epoch, optimiser state, the history, the best weights)
so that a run can be checkpointed between minibatches and resumed to exactly
the weights an uninterrupted run would reach.

The settings (learning rate, epochs, batch size, schedule, penalties, ...)
are the "training" and "regularisation" fields of ``backprop.config.TrainConfig``,
declared there once with their defaults and ranges.

Every random draw (the shuffle of each epoch, dropout masks, augmentation)
comes from ``net.rng``, so one seed gives the same run bit for bit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from backprop.config import SETTINGS, TRAINER_GROUPS, TrainConfig
from backprop.engine.fused import train_step_fused
from backprop.engine.history import Callback, EpochPrinter, History
from backprop.engine.network import Network
from backprop.engine.optim import Optimizer, Schedule, get_optimizer
from backprop.engine.regularization import apply_max_norm
from backprop.engine.split import stratified_split
from backprop.engine.targets import accuracy as _accuracy
from backprop.engine.targets import as_targets as _as_targets
from backprop.engine.targets import check_X as _check_X
from backprop.errors import TrainingDiverged

__all__ = ["Callback", "EpochPrinter", "History", "Trainer", "fit", "split", "TRAINER_SETTINGS"]

Augment = Callable[[np.ndarray, np.random.Generator], np.ndarray]

#: The settings ``Trainer`` reads: names of ``TrainConfig`` fields.
TRAINER_SETTINGS = tuple(s.name for s in SETTINGS.values() if s.group in TRAINER_GROUPS)


def _config(config: TrainConfig | None, settings: dict) -> TrainConfig:
    """``config`` (default ``TrainConfig()``) with the keyword ``settings`` applied."""
    unknown = sorted(set(settings) - set(TRAINER_SETTINGS))
    if unknown:
        raise TypeError(
            f"Trainer got unknown setting(s) {', '.join(unknown)}; the trainer's settings are "
            f"{', '.join(TRAINER_SETTINGS)}"
        )
    config = TrainConfig() if config is None else config
    config = config.updated("Trainer", **settings) if settings else config
    if config.ensemble != 1:
        raise ValueError(
            f"ensemble = {config.ensemble}: a Trainer (and fit) trains the one network it is "
            "given; train an ensemble with backprop.ensemble.fit_ensemble or `backprop train "
            f"--ensemble {config.ensemble}`, or leave ensemble at 1"
        )
    return config


class Trainer:
    """Train a ``Network`` by minibatch backpropagation.

    Parameters
    ----------
    net : Network
    config : TrainConfig, optional
        The settings (``backprop.config``; default ``TrainConfig()``).  The
        trainer reads the "training" and "regularisation" fields
        (:data:`TRAINER_SETTINGS`: optimizer, lr, epochs, batch_size, the
        schedule's, patience, restore_best, shuffle, l1, l2, max_norm,
        label_smoothing) and ignores the others.  It trains one network:
        ``ensemble`` must be 1 (``backprop.ensemble.fit_ensemble`` trains
        several), else ValueError.
    augment : callable(X_batch, rng) -> X_batch, optional
        Applied to every training minibatch (never to validation data).
    callbacks : sequence of Callback
    **settings
        Any of :data:`TRAINER_SETTINGS` by name, over ``config``
        (``Trainer(net, lr=0.1, epochs=5)``).  ``optimizer`` may also be an
        ``Optimizer`` and ``schedule`` a ``Schedule`` instance.

    Notes
    -----
    ``patience`` stops when the validation loss has not improved for that
    many epochs (without validation data it is refused); with a validation
    set and ``restore_best``, training ends with the best epoch's weights.
    ``history.best_epoch`` is the epoch of lowest validation loss, and None
    without validation data.
    ``label_smoothing`` ε trains on targets (1 - ε)y + ε/K (Szegedy et al.
    2016); rows still sum to 1, so the softmax shortcut δ = a - y holds.
    """

    def __init__(
        self,
        net: Network,
        config: TrainConfig | None = None,
        *,
        augment: Augment | None = None,
        callbacks: Sequence[Callback] = (),
        **settings: Any,
    ) -> None:
        optimizer = settings.pop("optimizer", None)
        schedule = settings.pop("schedule", None)
        for name, value in (("optimizer", optimizer), ("schedule", schedule)):
            if isinstance(value, str):
                settings[name] = value
        cfg = self.config = _config(config, settings)
        self.net = net
        if isinstance(optimizer, Optimizer):
            self.optimizer_name, self.optimizer = optimizer.name, optimizer
        else:
            self.optimizer_name = cfg.optimizer
            self.optimizer = get_optimizer(
                cfg.optimizer, momentum=cfg.momentum, beta1=cfg.beta1, beta2=cfg.beta2, eps=cfg.eps
            )
        self.schedule = schedule if isinstance(schedule, Schedule) else Schedule(
            cfg.schedule, lr=cfg.lr, epochs=cfg.epochs, decay=cfg.decay, gamma=cfg.gamma,
            step_size=cfg.step_size, lr_min=cfg.lr_min, warmup=cfg.warmup,
        )
        self.epochs, self.batch_size = cfg.epochs, cfg.batch_size
        self.l1, self.l2, self.max_norm = cfg.l1, cfg.l2, cfg.max_norm
        self.label_smoothing = cfg.label_smoothing
        self.patience, self.restore_best, self.shuffle = cfg.patience, cfg.restore_best, cfg.shuffle
        self.augment = augment
        self.callbacks = list(callbacks)
        # resumable state
        self.history = History()
        self.epoch = 0  # epochs completed
        self.batch = 0  # minibatches completed in the current epoch
        self.perm: np.ndarray | None = None
        self.sums = [0.0, 0.0, 0]  # running loss sum, correct count, samples seen this epoch
        self.epoch_seconds = 0.0
        self.best_loss = math.inf
        self.best_params: list[np.ndarray] | None = None
        self.bad_epochs = 0
        self.stop_requested = False
        self.stop_training = False  # set by a callback (EarlyStopping) to end after this epoch

    # ------------------------------------------------------------------ state
    def request_stop(self) -> None:
        """Ask ``fit`` to return after the current minibatch (for signal handlers)."""
        self.stop_requested = True

    def state_dict(self) -> dict:
        """Everything needed to resume between two minibatches (with ``net.get_params()``)."""
        return {
            "epoch": self.epoch,
            "batch": self.batch,
            "perm": None if self.perm is None else self.perm.copy(),
            "sums": list(self.sums),
            "epoch_seconds": self.epoch_seconds,
            "best_loss": self.best_loss,
            "best_params": self.best_params,
            "bad_epochs": self.bad_epochs,
            "history": self.history.to_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": self.net.rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict) -> None:
        self.epoch = int(state["epoch"])
        self.batch = int(state["batch"])
        self.perm = None if state["perm"] is None else np.asarray(state["perm"])
        self.sums = list(state["sums"])
        self.epoch_seconds = float(state["epoch_seconds"])
        self.best_loss = float(state["best_loss"])
        bp = state["best_params"]
        self.best_params = None if bp is None else [np.array(p) for p in bp]
        self.bad_epochs = int(state["bad_epochs"])
        self.history = History.from_dict(state["history"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.net.rng.bit_generator.state = state["rng"]

    # ------------------------------------------------------------------ loop
    def _check_data(self, X, y, validation_data) -> tuple:
        """X, one-hot (smoothed) targets Y, and the validation pair (or Nones), checked."""
        net = self.net
        X = _check_X(net, X, "X")
        Y = _as_targets(net, y, "y")
        if self.label_smoothing and Y.shape[1] > 1:
            Y = Y * (1.0 - self.label_smoothing) + self.label_smoothing / Y.shape[1]
        if len(X) != len(Y):
            raise ValueError(f"X and y must have the same length, got {len(X)} and {len(Y)}")
        if len(X) == 0:
            raise ValueError("X is empty: there is nothing to train on")
        Xv = Yv = None
        if validation_data is not None:
            Xv = _check_X(net, validation_data[0], "validation X")
            Yv = _as_targets(net, validation_data[1], "validation y")
            if len(Xv) != len(Yv):
                raise ValueError(
                    f"validation X and y must have the same length, got {len(Xv)} and {len(Yv)}"
                )
        return X, Y, Xv, Yv

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> History:
        """Train on X (N, n_in) and labels y (N,) or targets (N, n_out); return the history.

        Continues from the trainer's state, so a second call after an
        interruption (or after ``load_state_dict``) resumes the same run.
        """
        X, Y, Xv, Yv = self._check_data(X, y, validation_data)
        if self.patience is not None and Xv is None:
            raise ValueError(
                f"patience={self.patience} watches the validation loss, but there is no "
                "validation data; pass validation_data (or validation_split) or drop patience"
            )
        n = len(X)
        bs = n if self.optimizer_name == "gd" else min(self.batch_size, n)
        self.n_batches = math.ceil(n / bs)
        # Class of every row (argmax of its target), for the running accuracy
        labels = Y.argmax(axis=1) if Y.shape[1] > 1 else None
        # Minibatches are gathered into these two arrays, reused every step
        buffers = (np.empty((bs, X.shape[1]), dtype=X.dtype),
                   np.empty((bs, Y.shape[1]), dtype=Y.dtype))
        self.stop_requested = False
        self.stop_training = False
        for cb in self.callbacks:
            cb.on_train_begin(self)
        while self.epoch < self.epochs:
            epoch, lr = self.epoch, self.schedule(self.epoch)
            if self.batch == 0:
                self.perm = self.net.rng.permutation(n) if self.shuffle else np.arange(n)
                self.sums = [0.0, 0.0, 0]
                self.epoch_seconds = 0.0
                for cb in self.callbacks:
                    cb.on_epoch_begin(self, epoch)
            start_time = time.perf_counter()
            while self.batch < self.n_batches:
                idx = self.perm[self.batch * bs : (self.batch + 1) * bs]
                self._step(X, Y, labels, idx, buffers, lr)
                if self.stop_requested and self.batch < self.n_batches:
                    self.epoch_seconds += time.perf_counter() - start_time
                    self.history.interrupted = True
                    return self.history
            self.epoch_seconds += time.perf_counter() - start_time
            if self._end_epoch(epoch, lr, Xv, Yv):
                break
            if self.stop_requested and self.epoch < self.epochs:
                self.history.interrupted = True
                return self.history
        if self.best_params is not None and self.restore_best:
            self.net.set_params(self.best_params)
        self.history.interrupted = False
        for cb in self.callbacks:
            cb.on_train_end(self)
        return self.history

    def _step(self, X, Y, labels, idx: np.ndarray, buffers: tuple, lr: float) -> None:
        """One minibatch: forward, loss, backward (10)-(17), the update, the running sums."""
        net, m = self.net, len(idx)
        X_buf, Y_buf = buffers
        Xb = np.take(X, idx, axis=0, out=X_buf[:m], mode="clip")  # X[idx], no allocation
        Yb = np.take(Y, idx, axis=0, out=Y_buf[:m], mode="clip")
        if self.augment is not None:
            Xb = self.augment(Xb, net.rng)
        a = net.forward(Xb, train=True, reuse=True)
        with np.errstate(over="ignore", invalid="ignore"):  # checked just below
            batch_loss = net.loss.value(a, Yb)
        if not math.isfinite(batch_loss):
            raise TrainingDiverged(
                f"the loss became {batch_loss} at epoch {self.epoch + 1}, minibatch "
                f"{self.batch + 1}: training diverged; try a smaller learning rate "
                f"(e.g. lr={lr / 10:g}) or standardise the inputs"
            )
        if labels is None:
            correct = _accuracy(a, Yb) * m
        else:
            correct = np.count_nonzero(a.argmax(axis=1) == labels[idx])
        # (10)-(17) and the update, fused (Network.backward + Optimizer.step, faster)
        train_step_fused(net, self.optimizer, Yb, lr, self.l1, self.l2)
        if self.max_norm is not None:
            for W in net.weights():
                apply_max_norm(W, self.max_norm)
        self.sums[0] += batch_loss * m
        self.sums[1] += correct
        self.sums[2] += m
        self.batch += 1
        for cb in self.callbacks:
            cb.on_batch_end(self, self.batch, self.n_batches, self.sums[0] / self.sums[2])

    def _end_epoch(self, epoch: int, lr: float, Xv, Yv) -> bool:
        """Record the epoch, track the best weights, call back; True to stop early."""
        net = self.net
        record = {
            "epoch": epoch + 1,
            "loss": self.sums[0] / self.sums[2],
            "acc": self.sums[1] / self.sums[2],
            "lr": lr,
        }
        monitored = None  # model choice and patience watch validation data only
        if Xv is not None:
            av = net.predict_proba(Xv)
            record["val_loss"] = net.loss.value(av, Yv)
            record["val_acc"] = _accuracy(av, Yv)
            monitored = record["val_loss"]
        record["seconds"] = self.epoch_seconds
        self.history.records.append(record)
        self.epoch += 1
        self.batch = 0
        if monitored is not None and monitored < self.best_loss:
            self.best_loss = monitored
            self.history.best_epoch = epoch + 1
            self.bad_epochs = 0
            if Xv is not None and self.restore_best:
                self.best_params = net.get_params()
        elif monitored is not None:
            self.bad_epochs += 1
        for cb in self.callbacks:
            cb.on_epoch_end(self, epoch, record)
        if self.stop_training or (self.patience is not None and self.bad_epochs >= self.patience):
            self.history.stopped_early = True
            return True
        return False


def fit(
    net: Network,
    X: np.ndarray,
    y: np.ndarray,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    validation_split: float = 0.0,
    verbose: bool | int = False,
    **settings,
) -> History:
    """Train ``net`` on X, y and return its ``History``.

    ``validation_split`` holds out that fraction of X, y (stratified for
    integer labels, drawn with ``net.rng``) as the validation set.  ``verbose``
    prints one line per epoch to stdout (``EpochPrinter``).  The other keyword
    arguments are ``Trainer``'s (``config`` and the settings of
    ``TRAINER_SETTINGS``); ready callbacks are in ``backprop.callbacks``.

    Examples
    --------
    >>> from backprop import Network, fit
    >>> net = Network([2, 3, 1], activation="sigmoid", seed=1)
    >>> X = [[0, 0], [0, 1], [1, 0], [1, 1]]; y = [0, 1, 1, 0]
    >>> history = fit(net, X, y, optimizer="gd", lr=2.0, epochs=2000)
    >>> net.predict(X).tolist()
    [0, 1, 1, 0]
    """
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
    X = np.asarray(X)
    y = np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")
    if validation_split:
        if validation_data is not None:
            raise ValueError("give validation_data or validation_split, not both")
        X, y, Xv, yv = split(X, y, validation_split, net.rng)
        validation_data = (Xv, yv)
    if verbose:
        settings["callbacks"] = [*settings.get("callbacks", ()), EpochPrinter()]
    return Trainer(net, **settings).fit(X, y, validation_data)


def split(
    X: np.ndarray, y: np.ndarray, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hold out ``fraction`` of the samples, stratified by class for integer labels.

    Integer labels go through ``backprop.engine.split.stratified_split``; other
    targets (regression, one-hot rows) are held out uniformly at random.
    """
    if y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
        return stratified_split(X, y, fraction, rng)
    n = len(X)
    val = np.sort(rng.permutation(n)[: int(round(fraction * n))])
    mask = np.ones(n, dtype=bool)
    mask[val] = False
    return X[mask], y[mask], X[val], y[val]
