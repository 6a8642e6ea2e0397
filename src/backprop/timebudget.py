"""Train for a wall-clock budget: ``backprop train --time 10m``.

The learning-rate schedule needs the number of epochs in advance (a cosine
schedule reaches its end at the last epoch), but how many epochs fit in ten
minutes depends on the machine and on what else runs on it.
:class:`TimeBudget` is a training callback that, after every epoch,
re-estimates how many more epochs fit before the deadline from the mean time
of the epochs so far (data loading and the first, slower epoch included), and
sets the trainer's epoch count and its schedule's length to that.  A cosine
rate is continuous in its length T, so the re-estimates move the rate
smoothly, and the schedule completes at the last epoch that fits.

With ``max_epochs`` the budget is a ceiling (``backprop train --max-time``):
the run trains the epochs it was set up with, and the estimate only cuts
them (and the schedule) short when they would not end by the deadline.

:func:`parse_duration` reads the budget: ``90s``, ``10m``, ``1h``,
``1h30m``, ``2.5m`` or a bare number of seconds.
"""

from __future__ import annotations

import math
import re
import time

from backprop.engine.train import Callback

__all__ = ["MAX_SECONDS", "TimeBudget", "format_seconds", "parse_duration"]

#: Longest budget accepted: one week.
MAX_SECONDS = 7 * 24 * 3600.0
#: Most epochs a budget may turn into (the history keeps one record per epoch).
MAX_EPOCHS = 100_000

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smh])")


def parse_duration(text: str, name: str = "time") -> float:
    """Seconds in a duration such as ``"90s"``, ``"10m"``, ``"1h30m"`` or ``"45"``.

    ``name`` starts the error messages (``"max time"``).

    Raises
    ------
    ValueError
        For anything else, or a duration not in (0 s, 1 week].
    """
    t = str(text).strip().lower()[:40]
    seconds = None
    if re.fullmatch(r"\d+(?:\.\d+)?", t):
        seconds = float(t)
    elif t and re.fullmatch(r"(?:\s*\d+(?:\.\d+)?\s*[smh])+\s*", t):
        seconds = sum(float(v) * _UNITS[u] for v, u in _PART.findall(t))
    if seconds is None or not math.isfinite(seconds):
        raise ValueError(
            f"{name} {text!r} is not a duration; write e.g. 90s, 10m, 1h or 1h30m"
        )
    if not 0 < seconds <= MAX_SECONDS:
        raise ValueError(f"{name} {text!r} must be more than 0 s and at most 1 week (168h)")
    return seconds


def format_seconds(seconds: float) -> str:
    """``"9m 52s"``, ``"41.3s"``, ``"1h 02m"``."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m {int(round(seconds % 60)):02d}s"
    return f"{int(seconds // 3600)}h {int(round(seconds % 3600 / 60)):02d}m"


class TimeBudget(Callback):
    """Fit the number of epochs, and the schedule's length, to a deadline.

    Parameters
    ----------
    seconds : float
        The budget for training, from ``start``.
    start : float, optional
        ``time.monotonic()`` at which the budget began (e.g. before the data
        was loaded); default: when training begins.
    reserve : float, default 0
        Seconds kept back at the end (the evaluation, saving the model).
    max_epochs : int, optional
        Make the budget a ceiling: after every epoch the trainer's epochs
        become ``min(max_epochs, epochs that fit)``; the trainer and its
        schedule are changed only when that differs from the trainer's
        epochs, so a run the deadline never binds trains exactly as without
        the budget.  The trainer should start
        with ``max_epochs`` epochs.  Default: the epochs fill the budget.

    Attributes
    ----------
    deadline : float
        ``time.monotonic()`` by which the last epoch should end.
    epoch_seconds : float or None
        Mean seconds per epoch measured so far (with validation and callbacks).
    bound : bool
        With ``max_epochs``: whether the deadline cut the epochs below it at
        the last estimate.
    """

    def __init__(self, seconds: float, start: float | None = None, reserve: float = 0.0,
                 max_epochs: int | None = None) -> None:
        if not seconds > 0:
            raise ValueError(f"a time budget must be > 0 seconds, got {seconds!r}")
        if max_epochs is not None and not max_epochs >= 1:
            raise ValueError(f"max_epochs must be ≥ 1, got {max_epochs!r}")
        self.max_epochs = max_epochs
        self.bound = False
        self.seconds = float(seconds)
        self.start = start
        self.reserve = float(reserve)
        self.deadline = math.inf
        self.epoch_seconds: float | None = None
        self._t0 = 0.0
        self._epoch0 = 0

    def on_train_begin(self, trainer) -> None:
        now = time.monotonic()
        start = now if self.start is None else self.start
        self.deadline = start + self.seconds - self.reserve
        self._t0, self._epoch0 = now, trainer.epoch
        if self.max_epochs is None and trainer.epochs <= trainer.epoch:
            trainer.epochs = trainer.epoch + 1

    def on_epoch_end(self, trainer, epoch, record) -> None:
        now = time.monotonic()
        done = trainer.epoch - self._epoch0
        self.epoch_seconds = (now - self._t0) / max(done, 1)
        # (a clock too coarse to see a short epoch measures 0 s)
        more = math.floor(max(self.deadline - now, 0.0) / max(self.epoch_seconds, 1e-9))
        epochs = trainer.epoch + more
        if self.max_epochs is None:
            epochs = min(epochs, MAX_EPOCHS)
        else:
            self.bound = epochs < self.max_epochs
            epochs = min(epochs, self.max_epochs)
            if epochs == trainer.epochs:
                return  # the ceiling does not bind: leave the trainer and its schedule alone
        trainer.epochs = epochs
        trainer.schedule.epochs = max(epochs, 1)
