"""The training loop: epochs of shuffled minibatches, validation, early stopping.

``fit(net, X, y, ...)`` is the one-call form; ``Trainer`` holds the state
(epoch, position in the epoch, optimiser state, the history, the best weights)
so that a run can be checkpointed between minibatches and resumed to exactly
the weights an uninterrupted run would reach.

Every random draw (the shuffle of each epoch, dropout masks, augmentation)
comes from ``net.rng``, so one seed gives the same run bit for bit.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from backprop.engine.fused import train_step_fused
from backprop.engine.network import Network
from backprop.engine.optim import Optimizer, Schedule, get_optimizer
from backprop.engine.regularization import apply_max_norm, check_coefficients
from backprop.engine.split import stratified_split
from backprop.errors import TrainingDiverged

Augment = Callable[[np.ndarray, np.random.Generator], np.ndarray]


class Callback:
    """Hooks called by ``Trainer.fit``; override the ones you need.

    ``on_batch_end`` receives the running mean loss of the epoch so far;
    ``on_epoch_end`` receives the epoch's history record (a dict), and may set
    ``trainer.stop_training = True`` to end the run after that epoch (recorded
    as ``history.stopped_early``).  Ready ones: ``backprop.callbacks``.
    """

    def on_train_begin(self, trainer: Trainer) -> None: ...

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None: ...

    def on_batch_end(self, trainer: Trainer, batch: int, n_batches: int, loss: float) -> None: ...

    def on_epoch_end(self, trainer: Trainer, epoch: int, record: dict) -> None: ...

    def on_train_end(self, trainer: Trainer) -> None: ...


class EpochPrinter(Callback):
    """One line per epoch on ``stream`` (stdout): ``fit(..., verbose=True)``.

    ``epoch 3/20  loss 0.1123  acc 0.9671  val_loss 0.1301  val_acc 0.9640  lr 0.1  0.02s``
    """

    def __init__(self, stream=None) -> None:
        self.stream = stream

    def on_epoch_end(self, trainer: Trainer, epoch: int, record: dict) -> None:
        parts = [f"epoch {record['epoch']}/{trainer.epochs}"]
        for key in ("loss", "acc", "val_loss", "val_acc"):
            if record.get(key) is not None:
                parts.append(f"{key} {record[key]:.4f}")
        parts.append(f"lr {record['lr']:.4g}")
        parts.append(f"{record['seconds']:.2f}s")
        print("  ".join(parts), file=self.stream or sys.stdout, flush=True)


@dataclass
class History:
    """Per-epoch records: epoch, loss, acc, val_loss, val_acc, lr, seconds.

    ``loss``/``acc`` are means over the epoch's minibatches (with dropout and
    augmentation as trained); ``val_*`` are measured after the epoch.
    """

    records: list[dict] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    interrupted: bool = False

    def __getitem__(self, key: str) -> list:
        return [r.get(key) for r in self.records]

    def __len__(self) -> int:
        return len(self.records)

    def to_dict(self) -> dict:
        return {
            "records": self.records,
            "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early,
            "interrupted": self.interrupted,
        }

    @classmethod
    def from_dict(cls, d: dict) -> History:
        return cls(
            records=list(d.get("records", [])),
            best_epoch=d.get("best_epoch"),
            stopped_early=bool(d.get("stopped_early", False)),
            interrupted=bool(d.get("interrupted", False)),
        )


def _as_targets(net: Network, y: np.ndarray, name: str) -> np.ndarray:
    """Integer labels (N,) -> one-hot (N, K); (N, K) targets are passed through."""
    y = np.asarray(y)
    k = net.sizes[-1]
    if y.ndim == 1:
        if not np.issubdtype(y.dtype, np.integer):
            if np.any(np.mod(y, 1) != 0):
                raise ValueError(f"{name} holds non-integer labels; give class indices or (N, {k})")
            y = y.astype(np.int64)
        if k == 1:
            bad = (y < 0) | (y > 1)
            if np.any(bad):
                raise ValueError(f"{name} must hold 0/1 labels for a single output unit")
            return y.reshape(-1, 1).astype(net.dtype)
        if y.size and (y.min() < 0 or y.max() >= k):
            raise ValueError(
                f"{name} holds labels from {y.min()} to {y.max()} but the network has {k} "
                f"outputs; labels must be in 0..{k - 1}"
            )
        Y = np.zeros((len(y), k), dtype=net.dtype)
        Y[np.arange(len(y)), y] = 1
        return Y
    if y.ndim == 2 and y.shape[1] == k:
        return y.astype(net.dtype, copy=False)
    raise ValueError(f"{name} must have shape (N,) labels or (N, {k}) targets, got {y.shape}")


def _accuracy(a: np.ndarray, Y: np.ndarray) -> float:
    if a.shape[1] == 1:
        return float(np.mean((a[:, 0] > 0.5) == (Y[:, 0] > 0.5)))
    return float(np.mean(a.argmax(axis=1) == Y.argmax(axis=1)))


def _check_X(net: Network, X, name: str) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != net.sizes[0]:
        raise ValueError(f"{name} must have shape (N, {net.sizes[0]}), got {X.shape}")
    X = X.astype(net.dtype, copy=False)
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} contains NaN or infinite values; clean or impute them first")
    return X


class Trainer:
    """Train a ``Network`` by minibatch backpropagation.

    Parameters
    ----------
    net : Network
    optimizer : str or Optimizer, default "momentum"
        "gd" (full batch), "sgd", "momentum", "nesterov" or "adam".
    lr : float, default 0.1
        Learning rate η (base rate of the schedule).
    epochs : int, default 20
    batch_size : int, default 128
        Ignored by "gd", which uses the whole training set.
    momentum : float, default 0.9
        α of momentum and Nesterov.
    beta1, beta2, eps : float
        Adam's parameters (Kingma & Ba 2015).
    schedule : str or Schedule, default "constant"
        See ``backprop.engine.optim.Schedule``; ``decay``, ``gamma``, ``step_size``,
        ``lr_min`` and ``warmup`` configure it.
    l1, l2 : float, default 0
        Regularisation (``backprop.engine.regularization``).
    max_norm : float, optional
        Cap on the norm of each unit's incoming weights.
    patience : int, optional
        Stop when the monitored loss (validation loss, else training loss) has
        not improved for this many epochs, and restore the best weights.
    restore_best : bool, default True
        With a validation set, end with the weights of the best epoch.
    augment : callable(X_batch, rng) -> X_batch, optional
        Applied to every training minibatch (never to validation data).
    shuffle : bool, default True
        Reshuffle the training set every epoch.
    label_smoothing : float, default 0
        Train on targets (1 - ε)y + ε/K instead of one-hot y (Szegedy et al.
        2016); rows still sum to 1, so the softmax shortcut δ = a - y holds.
    callbacks : sequence of Callback
    """

    def __init__(
        self,
        net: Network,
        optimizer: str | Optimizer = "momentum",
        lr: float = 0.1,
        epochs: int = 20,
        batch_size: int = 128,
        momentum: float = 0.9,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        schedule: str | Schedule = "constant",
        decay: float = 0.0,
        gamma: float = 0.5,
        step_size: int = 10,
        lr_min: float = 0.0,
        warmup: int = 0,
        l1: float = 0.0,
        l2: float = 0.0,
        max_norm: float | None = None,
        patience: int | None = None,
        restore_best: bool = True,
        augment: Augment | None = None,
        shuffle: bool = True,
        label_smoothing: float = 0.0,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        if not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be an integer ≥ 1, got {epochs!r}")
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer ≥ 1, got {batch_size!r}")
        if patience is not None and (not isinstance(patience, int) or patience < 1):
            raise ValueError(f"patience must be an integer ≥ 1 or None, got {patience!r}")
        if max_norm is not None and not max_norm > 0:
            raise ValueError(f"max_norm must be > 0 or None, got {max_norm!r}")
        check_coefficients(l1, l2)
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing!r}")
        self.label_smoothing = float(label_smoothing)
        self.net = net
        self.optimizer_name = optimizer if isinstance(optimizer, str) else optimizer.name
        self.optimizer = get_optimizer(
            optimizer, momentum=momentum, beta1=beta1, beta2=beta2, eps=eps
        )
        self.schedule = (
            schedule
            if isinstance(schedule, Schedule)
            else Schedule(
                schedule, lr=lr, epochs=epochs, decay=decay, gamma=gamma,
                step_size=step_size, lr_min=lr_min, warmup=warmup,
            )
        )
        self.epochs = epochs
        self.batch_size = int(batch_size)
        self.l1, self.l2 = float(l1), float(l2)
        self.max_norm = max_norm
        self.patience = patience
        self.restore_best = restore_best
        self.augment = augment
        self.shuffle = shuffle
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
        n = len(X)
        bs = n if self.optimizer_name == "gd" else min(self.batch_size, n)
        n_batches = math.ceil(n / bs)
        # Class of every row (argmax of its target), for the running accuracy
        labels = Y.argmax(axis=1) if Y.shape[1] > 1 else None
        # Minibatches are gathered into these two arrays, reused every step
        X_buf = np.empty((bs, X.shape[1]), dtype=X.dtype)
        Y_buf = np.empty((bs, Y.shape[1]), dtype=Y.dtype)
        self.stop_requested = False
        self.stop_training = False
        for cb in self.callbacks:
            cb.on_train_begin(self)
        while self.epoch < self.epochs:
            epoch = self.epoch
            lr = self.schedule(epoch)
            if self.batch == 0:
                self.perm = net.rng.permutation(n) if self.shuffle else np.arange(n)
                self.sums = [0.0, 0.0, 0]
                self.epoch_seconds = 0.0
                for cb in self.callbacks:
                    cb.on_epoch_begin(self, epoch)
            start_time = time.perf_counter()
            while self.batch < n_batches:
                idx = self.perm[self.batch * bs : (self.batch + 1) * bs]
                m = len(idx)
                Xb = np.take(X, idx, axis=0, out=X_buf[:m], mode="clip")  # X[idx], no allocation
                Yb = np.take(Y, idx, axis=0, out=Y_buf[:m], mode="clip")
                if self.augment is not None:
                    Xb = self.augment(Xb, net.rng)
                a = net.forward(Xb, train=True, reuse=True)
                with np.errstate(over="ignore", invalid="ignore"):  # checked just below
                    batch_loss = net.loss.value(a, Yb)
                if not math.isfinite(batch_loss):
                    raise TrainingDiverged(
                        f"the loss became {batch_loss} at epoch {epoch + 1}, minibatch "
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
                    cb.on_batch_end(self, self.batch, n_batches, self.sums[0] / self.sums[2])
                if self.stop_requested and self.batch < n_batches:
                    self.epoch_seconds += time.perf_counter() - start_time
                    self.history.interrupted = True
                    return self.history
            self.epoch_seconds += time.perf_counter() - start_time
            record = {
                "epoch": epoch + 1,
                "loss": self.sums[0] / self.sums[2],
                "acc": self.sums[1] / self.sums[2],
                "lr": lr,
            }
            monitored = record["loss"]
            if Xv is not None:
                av = net.predict_proba(Xv)
                record["val_loss"] = net.loss.value(av, Yv)
                record["val_acc"] = _accuracy(av, Yv)
                monitored = record["val_loss"]
            record["seconds"] = self.epoch_seconds
            self.history.records.append(record)
            self.epoch += 1
            self.batch = 0
            if monitored < self.best_loss:
                self.best_loss = monitored
                self.history.best_epoch = epoch + 1
                self.bad_epochs = 0
                if Xv is not None and self.restore_best:
                    self.best_params = net.get_params()
            else:
                self.bad_epochs += 1
            for cb in self.callbacks:
                cb.on_epoch_end(self, epoch, record)
            if self.stop_training or (
                self.patience is not None and self.bad_epochs >= self.patience
            ):
                self.history.stopped_early = True
                break
            if self.stop_requested and self.epoch < self.epochs:
                self.history.interrupted = True
                return self.history
        if self.best_params is not None and self.restore_best:
            net.set_params(self.best_params)
        self.history.interrupted = False
        for cb in self.callbacks:
            cb.on_train_end(self)
        return self.history


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
    arguments are ``Trainer``'s; ready callbacks are in ``backprop.callbacks``.

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
