"""fit(verbose=...) and the ready callbacks, each checked against a plain run's own history."""

from __future__ import annotations

import csv
import struct

import numpy as np
import pytest

from backprop import Callback, Network, fit, load
from backprop.callbacks import CSVLogger, EarlyStopping, ModelCheckpoint, TensorBoard


def _blobs(seed: int = 0, n: int = 240):
    """Three overlapping Gaussian blobs in 4-D: validation loss turns up after a while."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = rng.normal(size=(n, 4)) + 1.2 * np.eye(4)[y]
    return X, y


SETTINGS = dict(optimizer="momentum", lr=0.3, batch_size=16, epochs=40, restore_best=False)


def _run(epochs=40, callbacks=(), seed=3, **kw):
    X, y = _blobs()
    net = Network([4, 32, 3], activation="relu", seed=seed, dtype="float64")
    settings = {**SETTINGS, "epochs": epochs, **kw}
    history = fit(net, X[:160], y[:160], validation_data=(X[160:], y[160:]),
                  callbacks=list(callbacks), **settings)
    return net, history


def test_verbose_prints_one_line_per_epoch_with_the_history_numbers(capsys):
    _, history = _run(epochs=3, verbose=True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    for line, rec in zip(lines, history.records):
        fields = line.split("  ")
        assert fields[0] == f"epoch {rec['epoch']}/3"
        assert fields[1] == f"loss {rec['loss']:.4f}"
        assert fields[3] == f"val_loss {rec['val_loss']:.4f}"
    _run(epochs=2, verbose=False)
    assert capsys.readouterr().out == ""


def _expected_stop(values, patience, min_delta, mode):
    """When EarlyStopping's rule stops a run with these per-epoch values (1-based), and its best."""
    best, best_epoch, wait = (np.inf if mode == "min" else -np.inf), None, 0
    for i, v in enumerate(values, start=1):
        if (v < best - min_delta) if mode == "min" else (v > best + min_delta):
            best, best_epoch, wait = v, i, 0
        else:
            wait += 1
            if wait >= patience:
                return i, best_epoch
    return None, best_epoch


@pytest.mark.parametrize("monitor,min_delta", [("val_loss", 0.0), ("val_acc", 0.0),
                                               ("loss", 0.002)])
def test_early_stopping_stops_where_the_rule_says_and_restores_the_best_epoch(monitor, min_delta):
    _, full = _run(epochs=40)
    mode = "max" if monitor.endswith("acc") else "min"
    stop, best = _expected_stop(full[monitor], 3, min_delta, mode)
    assert stop is not None, "the fixture run must trigger the rule"
    es = EarlyStopping(monitor=monitor, patience=3, min_delta=min_delta)
    net, history = _run(epochs=40, callbacks=[es])
    assert len(history) == stop and history.stopped_early
    assert es.stopped_epoch == stop and es.best_epoch == best
    def numbers(records):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in records]

    assert numbers(history.records) == numbers(full.records[:stop])  # the same run up to there
    net_best, _ = _run(epochs=best)  # constant rate: the first `best` epochs of the same run
    for a, b in zip(net.get_params(), net_best.get_params()):
        np.testing.assert_array_equal(a, b)


def test_early_stopping_names_a_missing_key():
    X, y = _blobs()
    net = Network([4, 8, 3], seed=0)
    with pytest.raises(ValueError, match="no 'val_loss'.*validation_data"):
        fit(net, X, y, epochs=2, callbacks=[EarlyStopping()])
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=0)


def test_model_checkpoint_every_epoch_and_best_only(tmp_path):
    every = ModelCheckpoint(tmp_path / "all" / "epoch-{epoch:02d}.npz")
    best = ModelCheckpoint(tmp_path / "best.npz", monitor="val_acc", save_best_only=True)
    log = []

    class Snapshot(Callback):  # records the weights each epoch, after the others ran
        def on_epoch_end(self, trainer, epoch, record):
            log.append(trainer.net.get_params())

    net, history = _run(epochs=6, callbacks=[every, best, Snapshot()])
    assert [p.name for p in every.saved] == [f"epoch-{i:02d}.npz" for i in range(1, 7)]
    for path, params in zip(every.saved, log):
        for a, b in zip(load(path).network.get_params(), params):
            np.testing.assert_array_equal(a, b)
    accs = history["val_acc"]
    improving = [i for i in range(6) if accs[i] > max(accs[:i], default=-1)]
    assert len(best.saved) == len(improving)
    for a, b in zip(load(tmp_path / "best.npz").network.get_params(), log[improving[-1]]):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="cannot fill in"):
        _run(epochs=1, callbacks=[ModelCheckpoint(tmp_path / "{nope}.npz")])


def test_csv_logger_holds_the_history_exactly(tmp_path):
    path = tmp_path / "logs" / "history.csv"
    _, history = _run(epochs=5, callbacks=[CSVLogger(path)])
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(history.records[0])
    assert len(rows) == 5
    for row, rec in zip(rows, history.records):
        assert {k: float(v) for k, v in row.items()} == {k: float(v) for k, v in rec.items()}
    _run(epochs=2, callbacks=[CSVLogger(path, append=True)])
    with open(path, newline="") as f:
        assert len(list(csv.DictReader(f))) == 7  # one header, 5 + 2 rows
    _run(epochs=2, callbacks=[CSVLogger(path)])
    with open(path, newline="") as f:
        assert len(list(csv.DictReader(f))) == 2  # replaced


class _StopAfter(Callback):
    """Asks the trainer to stop after ``n`` epochs, as Ctrl-C does (``stop_requested``)."""

    def __init__(self, n):
        self.n = n

    def on_epoch_end(self, trainer, epoch, record):
        if epoch + 1 >= self.n:
            trainer.stop_requested = True


def test_csv_logger_keeps_no_file_open_when_a_run_is_interrupted(tmp_path):
    import psutil

    path = tmp_path / "history.csv"
    logger = CSVLogger(path)
    _, history = _run(epochs=10, callbacks=[logger, _StopAfter(3)])
    assert history.interrupted and len(history.records) == 3
    held = {f.path for f in psutil.Process().open_files()}
    assert str(path.resolve()) not in held  # the logger still exists: nothing held open
    with open(path, newline="") as f:
        assert len(list(csv.DictReader(f))) == 3  # every finished epoch is on disk


def _crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), bit by bit: the checksum of TFRecord framing."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def _masked(crc: int) -> int:
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def _read_records(path):
    """The TFRecord framing of an event file, read by hand with its checksums verified."""
    data = path.read_bytes()
    pos, out = 0, []
    while pos < len(data):
        (length,) = struct.unpack_from("<Q", data, pos)
        (len_crc,) = struct.unpack_from("<I", data, pos + 8)
        assert len_crc == _masked(_crc32c(data[pos : pos + 8]))
        payload = data[pos + 12 : pos + 12 + length]
        (crc,) = struct.unpack_from("<I", data, pos + 12 + length)
        assert crc == _masked(_crc32c(payload))
        out.append(payload)
        pos += 12 + length + 4
    return out


def test_tensorboard_event_file_holds_the_scalars(tmp_path):
    from tensorboardX.proto.event_pb2 import Event

    _, history = _run(epochs=4, callbacks=[TensorBoard(tmp_path / "tb")])
    files = list((tmp_path / "tb").glob("events.out.tfevents.*"))
    assert len(files) == 1
    scalars: dict[str, dict[int, float]] = {}
    for payload in _read_records(files[0]):
        event = Event.FromString(payload)
        for v in event.summary.value:
            scalars.setdefault(v.tag, {})[event.step] = v.simple_value
    assert set(scalars) == {"loss", "acc", "val_loss", "val_acc", "lr", "seconds"}
    for rec in history.records:
        for tag in ("loss", "val_loss", "val_acc", "lr"):
            assert scalars[tag][rec["epoch"]] == pytest.approx(rec[tag], rel=1e-6)


def test_crc32c_matches_the_published_check_value():
    assert _crc32c(b"123456789") == 0xE3069283  # the standard CRC-32C check value
