"""Interrupt (a real SIGINT) and resume: the resumed run ends with the uninterrupted weights."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _models import assert_same_model

from backprop.cli import main
from backprop.data import load_dataset
from backprop.model.checkpoint import load_checkpoint, save_checkpoint


@pytest.fixture(scope="module")
def tiny_npz(tmp_path_factory) -> Path:
    ds = load_dataset("mnist-sample")
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    np.savez(path, X=ds.X_train[:300], y=ds.y_train[:300], X_test=ds.X_test[:100],
             y_test=ds.y_test[:100])
    return path


def settings(data: Path, epochs: int) -> list[str]:
    # momentum (velocity state), dropout and shuffling (RNG state), validation (best weights)
    return ["--data-dir", str(data), "--hidden", "10", "--epochs", str(epochs),
            "--batch-size", "20", "--dropout", "0.2", "--optimizer", "momentum",
            "--seed", "3", "--no-report", "--validation-split", "0.1"]


#: ``backprop train`` in a process that sends itself a real SIGINT after N minibatches:
#: the test injects a callback through ``backprop.cli.train.EXTRA_CALLBACKS``.
SELF_INTERRUPT = """
import os, signal, sys
from backprop.cli import main, train
from backprop.engine.history import Callback

class SelfInterrupt(Callback):
    count = 0
    def on_batch_end(self, trainer, batch, n_batches, loss):
        self.count += 1
        if self.count == int(sys.argv[1]):
            os.kill(os.getpid(), signal.SIGINT)

train.EXTRA_CALLBACKS.append(SelfInterrupt())
sys.exit(main(["train", *sys.argv[2:]]))
"""


def train_process(args, interrupt_after=None, **kw):
    cmd = [sys.executable, "-m", "backprop", "train", *args]
    if interrupt_after is not None:
        cmd = [sys.executable, "-c", SELF_INTERRUPT, str(interrupt_after), *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ, **kw)


def history_without_times(run: Path) -> list[dict]:
    records = json.loads((run / "history.json").read_text())["records"]
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


def test_sigint_mid_epoch_then_resume_equals_uninterrupted(tmp_path, tiny_npz, capsys):
    reference = tmp_path / "reference"
    assert main(["train", *settings(tiny_npz, 3), "--quiet", "--out", str(reference)]) == 0
    capsys.readouterr()

    run = tmp_path / "interrupted"
    # the process sends itself a real SIGINT after 20 minibatches (epoch 2 of 3, batch 6 of 14)
    p = train_process([*settings(tiny_npz, 3), "--out", str(run)], interrupt_after=20)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert f"resume with backprop train --resume {run}" in err
    assert "Traceback" not in err
    assert not (run / "model.npz").exists()
    _, state, _ = load_checkpoint(run / "checkpoint.npz")
    assert (state["epoch"], state["batch"]) == (1, 6)

    p = train_process(["--resume", str(run)])
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert f"resuming {run} at epoch 2/3, minibatch 6" in out
    assert_same_model(run / "model.npz", reference / "model.npz")
    assert_same_model(run / "best.npz", reference / "best.npz")
    assert history_without_times(run) == history_without_times(reference)


def test_external_sigint_then_resume_equals_uninterrupted(tmp_path, tiny_npz, capsys):
    """Ctrl-C from outside, at whatever point it lands."""
    epochs = 150
    run = tmp_path / "run"
    p = train_process([*settings(tiny_npz, epochs), "--out", str(run)])
    for line in p.stdout:  # wait until training is under way
        if line.startswith("epoch 2/"):
            break
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 130, (out, err)
    assert "SIGINT: finishing this minibatch" in err
    assert f"resume with backprop train --resume {run}" in err
    assert (run / "checkpoint.npz").is_file()

    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    reference = tmp_path / "reference"
    assert main(["train", *settings(tiny_npz, epochs), "--quiet", "--out", str(reference)]) == 0
    capsys.readouterr()
    assert_same_model(run / "model.npz", reference / "model.npz")
    assert history_without_times(run) == history_without_times(reference)


def test_sigterm_also_checkpoints(tmp_path, tiny_npz):
    run = tmp_path / "run"
    p = train_process([*settings(tiny_npz, 150), "--out", str(run)])
    for line in p.stdout:
        if line.startswith("epoch 1/"):
            break
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert "SIGTERM" in err and (run / "checkpoint.npz").is_file()


def test_checkpoint_round_trip_keeps_types_exactly(tmp_path):
    import backprop
    from backprop.engine.train import Trainer

    net = backprop.Network([4, 3, 2], activation="relu", seed=1)
    trainer = Trainer(net, optimizer="adam", epochs=2, batch_size=2)
    X = np.random.default_rng(0).random((6, 4)).astype(np.float32)
    y = np.array([0, 1, 0, 1, 1, 0])
    trainer.fit(X, y)
    state = trainer.state_dict()
    save_checkpoint(tmp_path / "c.npz", trainer, note="hi")
    params, loaded, meta = load_checkpoint(tmp_path / "c.npz")
    assert meta == {"note": "hi"}
    assert all(np.array_equal(a, b) for a, b in zip(params, net.params()))
    assert loaded["rng"] == state["rng"]
    assert loaded["best_loss"] == state["best_loss"]
    for a, b in zip(loaded["optimizer"]["m"], state["optimizer"]["m"]):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_resume_without_checkpoint_is_a_clear_error(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not a run folder (config.toml is missing)" in err and err.count("\n") == 1
    (tmp_path / "config.toml").write_text("epochs = 2\n")
    assert main(["train", "--resume", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "checkpoint.npz does not exist" in err and err.count("\n") == 1
