"""What a training run records and whom it tells: ``History`` and ``Callback``.

``Trainer.fit`` appends one record per epoch to its ``History`` and calls
each ``Callback``'s hooks as it goes; checkpoints store the history, and the
command line's progress bar and run folder are callbacks.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backprop.engine.train import Trainer


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
