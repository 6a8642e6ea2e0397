"""Progress of ``backprop train``: a bar per epoch with the run's ETA, or one line per epoch.

On a terminal each epoch shows a tqdm bar (minibatches, running loss, the
epoch's ETA) with the time left for the whole run beside it; when stdout is
not a terminal (a pipe, a log file, CI) each epoch prints one line, ending
with the run's ETA while epochs remain.  The run's ETA is the time per
minibatch measured in this process times the minibatches left.  An ensemble
(``--ensemble K``) trains its networks one after another: each line and bar
starts with ``network i/K``, and the ETA counts the networks still to train.
"""

from __future__ import annotations

import shutil
import sys
import time

from backprop.engine.history import Callback


def clock(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``."""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def epoch_line(record: dict, epochs: int, left: float | None = None, prefix: str = "") -> str:
    """``epoch 3/20  loss 0.1123  acc 0.9671  val_loss 0.1301  val_acc 0.9640  lr 0.05  2.1s``.

    With ``left`` (seconds), ``  run 1m12s left`` is appended; ``prefix``
    (``"network 2/3  "``) comes first.
    """
    parts = [f"{prefix}epoch {record['epoch']}/{epochs}"]
    for key in ("loss", "acc", "val_loss", "val_acc"):
        if record.get(key) is not None:
            parts.append(f"{key} {record[key]:.4f}")
    parts.append(f"lr {record['lr']:.4g}")
    parts.append(f"{record['seconds']:.1f}s")
    if left is not None:
        parts.append(f"run {clock(left)} left")
    return "  ".join(parts)


class Progress(Callback):
    """A tqdm bar per epoch on a terminal, else one line per epoch; nothing when quiet.

    Parameters
    ----------
    mode : {"bar", "lines", "quiet"}
    epochs : int
        Epochs of the whole run (the ETA counts up to it).
    stream : file, default sys.stdout
    mininterval : float
        tqdm's refresh interval in seconds.
    members : int, default 1
        Networks the run trains one after another (``--ensemble``); set
        :attr:`member` (0-based) before each one's training.
    """

    def __init__(self, mode: str, epochs: int, stream=None, mininterval: float = 0.1,
                 members: int = 1) -> None:
        self.mode = mode
        self.members, self.member = members, 0
        self.mininterval = mininterval
        self.epochs = epochs
        self.stream = stream or sys.stdout
        self.bar = None
        self.start: float | None = None
        self.done = 0  # minibatches trained by this process

    def on_train_begin(self, trainer) -> None:
        self.start, self.done = time.perf_counter(), 0

    def left(self, trainer, n_batches: int) -> float | None:
        """Seconds left in the run, from this process's time per minibatch; None before any."""
        if self.start is None or self.done == 0:
            return None
        remaining = (self.epochs - trainer.epoch) * n_batches - trainer.batch
        remaining += (self.members - self.member - 1) * self.epochs * n_batches
        return (time.perf_counter() - self.start) / self.done * max(remaining, 0)

    def on_batch_end(self, trainer, batch, n_batches, loss):
        self.done += 1
        self.epochs = getattr(trainer, "epochs", self.epochs)  # --time changes it as it goes
        if self.mode != "bar":
            return
        if self.bar is None:
            from tqdm import tqdm

            # a pseudo-terminal without a size (script, some CI) reports 0 columns
            size = shutil.get_terminal_size((100, 24))
            self.bar = tqdm(
                total=n_batches, initial=batch - 1,
                desc=f"{self.prefix}epoch {trainer.epoch + 1}/{self.epochs}",
                unit="batch", leave=False, file=self.stream, ncols=min(size.columns, 120) or 100,
                nrows=size.lines or 24, mininterval=self.mininterval,
            )
        left = self.left(trainer, n_batches)
        run = "" if left is None else f", run {clock(left)} left"
        self.bar.set_postfix_str(f"loss {loss:.4f}{run}", refresh=False)
        self.bar.update(1)

    @property
    def prefix(self) -> str:
        """``"network 2/3  "`` for an ensemble, else nothing."""
        return f"network {self.member + 1}/{self.members}  " if self.members > 1 else ""

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def on_epoch_end(self, trainer, epoch, record):
        self.close()
        if self.mode == "quiet":
            return
        self.epochs = getattr(trainer, "epochs", self.epochs)
        n_batches = getattr(trainer, "n_batches", 0)
        more = epoch + 1 < self.epochs or self.member + 1 < self.members
        left = self.left(trainer, n_batches) if more else None
        print(epoch_line(record, self.epochs, left, self.prefix), file=self.stream, flush=True)
