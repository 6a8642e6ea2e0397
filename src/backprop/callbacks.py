"""Ready callbacks for ``fit``: early stopping, checkpoints, CSV and TensorBoard logs.

Each one is a :class:`backprop.Callback`; pass them as ``callbacks=[...]``:

>>> from backprop import Network, fit
>>> from backprop.callbacks import EarlyStopping
>>> net = Network([2, 3, 1], activation="sigmoid", seed=0)
>>> X = [[0, 0], [0, 1], [1, 0], [1, 1]]; y = [0, 1, 1, 0]
>>> stop = EarlyStopping(monitor="loss", min_delta=1e-3, patience=100)
>>> history = fit(net, X, y, optimizer="gd", lr=2.0, epochs=5000, callbacks=[stop])
>>> history.stopped_early, len(history), net.predict(X).tolist()
(True, 1033, [0, 1, 1, 0])

Every callback reads the epoch's history record: ``epoch``, ``loss``, ``acc``,
``lr``, ``seconds``, and ``val_loss``/``val_acc`` when there is validation
data.  ``TensorBoard`` needs the optional ``tensorboardX`` package
(``pip install 'backprop-mlp[tensorboard]'``).
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

from backprop.engine.train import Callback, EpochPrinter, Trainer

__all__ = ["CSVLogger", "EarlyStopping", "EpochPrinter", "ModelCheckpoint", "TensorBoard"]


def _mode(monitor: str, mode: str) -> str:
    """"min" or "max": "auto" maximises accuracies and minimises everything else."""
    if mode == "auto":
        return "max" if monitor.endswith("acc") else "min"
    if mode not in ("min", "max"):
        raise ValueError(f'mode must be "auto", "min" or "max", got {mode!r}')
    return mode


def _monitored(record: dict, monitor: str, who: str) -> float:
    value = record.get(monitor)
    if value is None:
        have = ", ".join(k for k, v in record.items() if v is not None)
        hint = " (pass validation_data or validation_split)" if monitor.startswith("val_") else ""
        raise ValueError(
            f"{who}: the epoch record has no {monitor!r}{hint}; it has {have}"
        )
    return float(value)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    Parameters
    ----------
    monitor : str, default "val_loss"
        A key of the epoch record: "loss", "acc", "val_loss" or "val_acc".
    patience : int, default 10
        Epochs without improvement before stopping.
    min_delta : float, default 0
        An epoch improves only if it beats the best by more than this.
    mode : {"auto", "min", "max"}, default "auto"
        "auto" maximises accuracies and minimises losses.
    restore_best : bool, default True
        End with the weights of the best epoch.

    Attributes
    ----------
    best : float
        The best value seen.
    best_epoch : int or None
        Its epoch (1-based).
    stopped_epoch : int or None
        The epoch after which training stopped, None if it ran to the end.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 10,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best: bool = True,
    ) -> None:
        if not isinstance(patience, int) or patience < 1:
            raise ValueError(f"patience must be an integer ≥ 1, got {patience!r}")
        if not min_delta >= 0:
            raise ValueError(f"min_delta must be ≥ 0, got {min_delta!r}")
        self.monitor = monitor
        self.patience = patience
        self.min_delta = float(min_delta)
        self.mode = _mode(monitor, mode)
        self.restore_best = restore_best
        self._reset()

    def _reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.best_params = None
        self.wait = 0
        self.stopped_epoch: int | None = None

    def on_train_begin(self, trainer: Trainer) -> None:
        if trainer.epoch == 0:
            self._reset()

    def on_epoch_end(self, trainer: Trainer, epoch: int, record: dict) -> None:
        value = _monitored(record, self.monitor, "EarlyStopping")
        better = (
            value < self.best - self.min_delta
            if self.mode == "min"
            else value > self.best + self.min_delta
        )
        if better:
            self.best, self.best_epoch, self.wait = value, epoch + 1, 0
            if self.restore_best:
                self.best_params = trainer.net.get_params()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch + 1
            trainer.stop_training = True

    def on_train_end(self, trainer: Trainer) -> None:
        if self.restore_best and self.best_params is not None:
            trainer.net.set_params(self.best_params)


class ModelCheckpoint(Callback):
    """Save the network as a model file after each epoch, or only when it improves.

    Parameters
    ----------
    path : str or PathLike
        The model file to write (``.npz``); ``{epoch}`` and record keys are
        filled in, e.g. ``"ckpt/epoch-{epoch:03d}.npz"`` or
        ``"best-{val_acc:.4f}.npz"``. Its folder is created.
    monitor : str, default "val_loss"
        The record key compared when ``save_best_only``.
    save_best_only : bool, default False
        Write only when ``monitor`` beats every earlier epoch.
    mode : {"auto", "min", "max"}, default "auto"
    **metadata
        Passed to ``backprop.model.modelfile.save`` (for example ``class_names``,
        ``preprocessor``).

    Attributes
    ----------
    saved : list of pathlib.Path
        The files written, in order.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        monitor: str = "val_loss",
        save_best_only: bool = False,
        mode: str = "auto",
        **metadata,
    ) -> None:
        self.path = str(path)
        self.monitor = monitor
        self.save_best_only = save_best_only
        self.mode = _mode(monitor, mode)
        self.metadata = metadata
        self.best = math.inf if self.mode == "min" else -math.inf
        self.saved: list[Path] = []

    def on_epoch_end(self, trainer: Trainer, epoch: int, record: dict) -> None:
        if self.save_best_only:
            value = _monitored(record, self.monitor, "ModelCheckpoint")
            if not (value < self.best if self.mode == "min" else value > self.best):
                return
            self.best = value
        try:
            target = Path(self.path.format(**record))
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"ModelCheckpoint: cannot fill in the path {self.path!r} ({exc!r}); use "
                f"{{epoch}} or keys of the epoch record: {', '.join(record)}"
            ) from None
        from backprop.model.modelfile import save

        target.parent.mkdir(parents=True, exist_ok=True)
        save(trainer.net, target, **self.metadata)
        self.saved.append(target)


class CSVLogger(Callback):
    """Write the epoch records to a CSV file, one row per epoch, flushed as they come.

    Columns: ``epoch, loss, acc, val_loss, val_acc, lr, seconds`` (the
    validation columns only with validation data, fixed by the first epoch).

    Parameters
    ----------
    path : str or PathLike
        The CSV file (its folder is created).
    append : bool, default False
        Add to an existing file (no second header) instead of replacing it,
        for a resumed run.
    """

    def __init__(self, path: str | os.PathLike, append: bool = False) -> None:
        self.path = Path(path)
        self.append = append
        self._fields: list[str] | None = None
        self._header_written = False
        self._begun = False

    def on_train_begin(self, trainer: Trainer) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keep = self.append or trainer.epoch > 0
        if not keep:
            self.path.write_text("", encoding="utf-8")
        self._header_written = self.path.exists() and self.path.stat().st_size > 0
        self._fields = None
        self._begun = True

    def on_epoch_end(self, trainer: Trainer, epoch: int, record: dict) -> None:
        """Append one row; the file is opened and closed each time, so an
        interrupted run (Ctrl-C) leaves no open file behind and every row on disk."""
        if not self._begun:
            self.on_train_begin(trainer)
        if self._fields is None:
            self._fields = list(record)
        with open(self.path, "a", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=self._fields, extrasaction="ignore",
                                    lineterminator="\n")
            if not self._header_written:
                writer.writeheader()
                self._header_written = True
            writer.writerow(record)


class TensorBoard(Callback):
    """Write every number of the epoch records as TensorBoard scalars.

    Tags are ``loss``, ``acc``, ``val_loss``, ``val_acc``, ``lr`` and
    ``seconds``, at step = epoch (1-based). View with
    ``tensorboard --logdir LOG_DIR``.

    Parameters
    ----------
    log_dir : str or PathLike
        The folder for the event file (created).

    Raises
    ------
    ImportError
        When ``tensorboardX`` is not installed (the ``tensorboard`` extra).
    """

    def __init__(self, log_dir: str | os.PathLike) -> None:
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ImportError(
                "backprop.callbacks.TensorBoard needs the tensorboardX package: "
                "pip install 'backprop-mlp[tensorboard]'"
            ) from None
        self.log_dir = Path(log_dir)
        self._writer_class = SummaryWriter
        self._writer = None

    def on_train_begin(self, trainer: Trainer) -> None:
        if self._writer is None:
            self._writer = self._writer_class(logdir=str(self.log_dir))

    def on_epoch_end(self, trainer: Trainer, epoch: int, record: dict) -> None:
        if self._writer is None:
            self.on_train_begin(trainer)
        for key, value in record.items():
            if key != "epoch" and isinstance(value, (int, float)):
                self._writer.add_scalar(key, float(value), global_step=int(record["epoch"]))
        self._writer.flush()

    def on_train_end(self, trainer: Trainer) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
