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


# --max-time: the budget as a ceiling (max_epochs) on the epochs the run asks for


def _capped(monkeypatch, budget: float, per_epoch: float, epochs: int):
    clock = Clock(per_epoch)
    monkeypatch.setattr(timebudget.time, "monotonic", clock)
    net = Network([2, 4, 2], activation="tanh", rng=np.random.default_rng(0))
    tb = TimeBudget(budget, start=clock.now, max_epochs=epochs)
    trainer = Trainer(net, lr=0.1, epochs=epochs, schedule="cosine", callbacks=[Tick(clock), tb])
    X = np.random.default_rng(1).normal(size=(20, 2))
    trainer.fit(X, (X[:, 0] > 0).astype(int))
    return trainer, tb


def test_a_ceiling_cuts_slow_epochs_to_what_fits(monkeypatch):
    trainer, tb = _capped(monkeypatch, budget=10.0, per_epoch=1.0, epochs=30)
    assert len(trainer.history) == trainer.epochs == trainer.schedule.epochs == 10
    assert tb.bound
    # the shortened cosine schedule still reaches its end at the last epoch
    lrs = trainer.history["lr"]
    assert lrs[-1] == pytest.approx(0.05 * (1 + math.cos(math.pi * 9 / 10)))


def test_a_ceiling_leaves_fast_epochs_alone(monkeypatch):
    trainer, tb = _capped(monkeypatch, budget=100.0, per_epoch=1.0, epochs=30)
    assert len(trainer.history) == trainer.epochs == trainer.schedule.epochs == 30
    assert not tb.bound
    t = np.arange(30)  # the plain cosine schedule of 30 epochs, never re-estimated
    np.testing.assert_allclose(trainer.history["lr"], 0.05 * (1 + np.cos(np.pi * t / 30)))


def test_a_ceiling_that_never_binds_trains_bit_identically(monkeypatch):
    """The same weights and history (timings aside) as the run without a ceiling."""
    trainer, _ = _capped(monkeypatch, budget=1000.0, per_epoch=1.0, epochs=25)
    net = Network([2, 4, 2], activation="tanh", rng=np.random.default_rng(0))
    plain = Trainer(net, lr=0.1, epochs=25, schedule="cosine")
    X = np.random.default_rng(1).normal(size=(20, 2))
    plain.fit(X, (X[:, 0] > 0).astype(int))
    for a, b in zip(trainer.net.get_params(), plain.net.get_params()):
        np.testing.assert_array_equal(a, b)
    assert _untimed(trainer.history.records) == _untimed(plain.history.records)


def _untimed(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


class SlowEpochs(Callback):
    """Every epoch takes a second on the (fake) clock of the whole process."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def on_epoch_begin(self, trainer, epoch):
        self.clock.now += 1.0


def _cli(tmp_path, name: str, *flags: str) -> tuple[int, str, dict, dict]:
    import json

    from backprop.cli import main
    from backprop.configfile import read_toml

    run = tmp_path / name
    code = main(["train", "--dataset", "xor", "--no-report", "--out", str(run), *flags])
    return (code, str(run), read_toml(run / "config.toml"),
            json.loads((run / "history.json").read_text()))


def test_cli_max_time_that_does_not_bind_changes_nothing(tmp_path, capsys):
    from backprop.model.modelfile import load

    code, run, cfg, history = _cli(tmp_path, "capped", "--epochs", "30", "--max-time", "1h")
    out = capsys.readouterr().out
    assert code in (0, 3) and "max time" not in out.replace("within max time 1h", "")
    assert "30 epochs (fewer if they would not end within max time 1h)" in out
    assert cfg["epochs"] == 30 and cfg["max_time"] == "1h"
    code2, run2, _, history2 = _cli(tmp_path, "plain", "--epochs", "30")
    assert code2 == code
    assert _untimed(history["records"]) == _untimed(history2["records"])
    for a, b in zip(load(f"{run}/model.npz").network.get_params(),
                    load(f"{run2}/model.npz").network.get_params()):
        np.testing.assert_array_equal(a, b)


def test_cli_max_time_that_binds_says_so_and_records_the_epochs(tmp_path, capsys, monkeypatch):
    from backprop.cli import train

    clock = Clock(1.0)
    monkeypatch.setattr(timebudget.time, "monotonic", clock)  # the process's one clock
    monkeypatch.setattr(train, "EXTRA_CALLBACKS", [SlowEpochs(clock)])
    code, _, cfg, history = _cli(tmp_path, "r", "--epochs", "100", "--max-time", "1m")
    out = capsys.readouterr().out
    # 60 s less the reserve (2 % + 1 s) leave 57 epochs of 1 s
    assert code in (0, 3) and len(history["records"]) == 57
    line = [x for x in out.splitlines() if x.startswith("max time 1m: ")]
    assert line == ["max time 1m: 57 of 100 epochs fitted (1.00s each); the schedule was "
                    "shortened to end on time"]
    assert cfg["epochs"] == 57 and "max_time" not in cfg  # --config repeats what trained


@pytest.mark.parametrize(
    ("flags", "message"),
    [(["--max-time", "ten minutes"], "max time 'ten minutes' is not a duration"),
     (["--max-time", "0s"], "must be more than 0 s"),
     (["--max-time", "5m", "--time", "10m"], "--max-time 5m is below --time 10m")],
)
def test_cli_max_time_refusals_are_one_line(tmp_path, capsys, flags, message):
    from backprop.cli import main

    code = main(["train", "--dataset", "xor", "--out", str(tmp_path / "r"), *flags])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_epochs_too_short_for_the_clock(monkeypatch):
    """A clock that does not move (a coarse one, short epochs) neither crashes nor cuts."""
    trainer, tb = _capped(monkeypatch, budget=10.0, per_epoch=0.0, epochs=30)
    assert len(trainer.history) == 30 and not tb.bound
    monkeypatch.setattr(timebudget, "MAX_EPOCHS", 40)
    trainer = _train(monkeypatch, budget=10.0, per_epoch=0.0)
    assert len(trainer.history) == 40  # --time: as many as a budget may turn into
