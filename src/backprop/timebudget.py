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


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``"90s"``, ``"10m"``, ``"1h30m"`` or ``"45"``.

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
            f"time {text!r} is not a duration; write e.g. 90s, 10m, 1h or 1h30m"
        )
    if not 0 < seconds <= MAX_SECONDS:
        raise ValueError(f"time {text!r} must be more than 0 s and at most 1 week (168h)")
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

    Attributes
    ----------
    deadline : float
        ``time.monotonic()`` by which the last epoch should end.
    epoch_seconds : float or None
        Mean seconds per epoch measured so far (with validation and callbacks).
    """

    def __init__(self, seconds: float, start: float | None = None, reserve: float = 0.0) -> None:
        if not seconds > 0:
            raise ValueError(f"a time budget must be > 0 seconds, got {seconds!r}")
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
        if trainer.epochs <= trainer.epoch:
            trainer.epochs = trainer.epoch + 1

    def on_epoch_end(self, trainer, epoch, record) -> None:
        now = time.monotonic()
        done = trainer.epoch - self._epoch0
        self.epoch_seconds = (now - self._t0) / max(done, 1)
        more = math.floor(max(self.deadline - now, 0.0) / self.epoch_seconds)
        trainer.epochs = min(trainer.epoch + more, MAX_EPOCHS)
        trainer.schedule.epochs = max(trainer.epochs, 1)
