"""--time: the duration parser and the callback that fits the epochs to a deadline."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backprop import timebudget
from backprop.engine.network import Network
from backprop.engine.train import Callback, Trainer
from backprop.timebudget import TimeBudget, format_seconds, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("10m", 600), ("1h", 3600), ("1h30m", 5400), ("2.5m", 150), ("45", 45),
     (" 1m 30s ", 90)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10x", "-5m", "0s", "m", "169h", "1e3", "nan"])
def test_parse_duration_refuses(text):
    with pytest.raises(ValueError, match="time"):
        parse_duration(text)


def test_format_seconds():
    assert format_seconds(41.26) == "41.3s"
    assert format_seconds(592) == "9m 52s"
    assert format_seconds(3720) == "1h 02m"


class Clock:
    """A fake time.monotonic: each epoch takes ``per_epoch`` seconds."""

    def __init__(self, per_epoch: float) -> None:
        self.now, self.per_epoch = 1000.0, per_epoch

    def __call__(self) -> float:
        return self.now


class Tick(Callback):
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def on_epoch_end(self, trainer, epoch, record):
        self.clock.now += self.clock.per_epoch


def _train(monkeypatch, budget: float, per_epoch: float, **kw):
    clock = Clock(per_epoch)
    monkeypatch.setattr(timebudget.time, "monotonic", clock)
    start = clock.now - kw.pop("loading", 0.0)
    net = Network([2, 4, 2], activation="tanh", rng=np.random.default_rng(0))
    tb = TimeBudget(budget, start=start, **kw)
    trainer = Trainer(net, lr=0.1, epochs=10**5, schedule="cosine", callbacks=[Tick(clock), tb])
    X = np.random.default_rng(1).normal(size=(20, 2))
    trainer.fit(X, (X[:, 0] > 0).astype(int))
    return trainer


def test_epochs_fill_the_budget(monkeypatch):
    trainer = _train(monkeypatch, budget=10.0, per_epoch=1.0)
    assert len(trainer.history) == 10
    assert trainer.schedule.epochs == 10
    # the cosine schedule ran to its end: epoch t of T = 10 at ½η(1 + cos(πt/T))
    lrs = trainer.history["lr"]
    assert lrs[-1] == pytest.approx(0.05 * (1 + math.cos(math.pi * 9 / 10)))
    assert lrs[0] == pytest.approx(0.1)


def test_loading_time_and_reserve_come_off(monkeypatch):
    trainer = _train(monkeypatch, budget=10.0, per_epoch=1.0, loading=3.0, reserve=2.0)
    assert len(trainer.history) == 5


def test_at_least_one_epoch(monkeypatch):
    trainer = _train(monkeypatch, budget=1.0, per_epoch=5.0)
    assert len(trainer.history) == 1
