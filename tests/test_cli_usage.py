"""The train command's rough edges, run as a user runs them (main() or a real process)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _models import assert_same_model

import backprop
from backprop.cli import main
from backprop.cli.progress import Progress
from backprop.configfile import read_toml
from backprop.data import load_dataset


@pytest.fixture(scope="module")
def small_npz(tmp_path_factory) -> Path:
    ds = load_dataset("mnist-sample")
    path = tmp_path_factory.mktemp("data") / "small.npz"
    np.savez(path, X=ds.X_train[:400], y=ds.y_train[:400], X_test=ds.X_test[:100],
             y_test=ds.y_test[:100])
    return path


def small(data: Path, *extra: str) -> list[str]:
    return ["train", "--data-dir", str(data), "--preset", "none", "--hidden", "12",
            "--batch-size", "40", "--quiet", "--no-report", *extra]


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("backprop: error: "), err
    return err


@pytest.mark.parametrize("argv, expected", [
    (["train", "--learning-rate", "0.1"], "unknown flag --learning-rate; did you mean --lr?"),
    (["train", "--batchsize", "10"], "did you mean --batch-size?"),
    (["trian"], "unknown command 'trian'; did you mean train?"),
    (["evaluate", "m.npz", "--jsn"], "did you mean --json?"),
    (["train", "--no-progress"], "unknown flag --no-progress; see backprop train --help"),
    (["predict", "m.npz", "x.png", "--lr", "3"], "unknown flag --lr; see backprop predict --help"),
])
def test_mistyped_flags_and_commands_get_a_suggestion(argv, expected, capsys):
    assert main(argv) == 2
    assert expected in one_line_error(capsys)


def test_a_suggested_flag_is_one_the_command_takes():
    """Every other command's flag given to a command: the hint names only its own flags."""
    import argparse
    import re

    from backprop.cli import UsageError, build_parser

    def positionals(p) -> list[str]:  # what the command needs before any flag is checked
        words = []
        for a in p._actions:
            if a.option_strings or a.nargs in ("?", "*"):
                continue
            words += [str(next(iter(a.choices))) if a.choices else "x"] * (
                a.nargs if isinstance(a.nargs, int) else 1)
        return words

    parser = build_parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    flags = {c: {s for a in p._actions for s in a.option_strings if s.startswith("--")}
             for c, p in subs.items()}
    checked = 0
    for command, own in flags.items():
        for foreign in sorted(set().union(*flags.values()) - own):
            if any(f.startswith(foreign) for f in own):
                continue  # argparse reads it as an abbreviation of the command's own flag
            with pytest.raises(UsageError) as err:
                parser.parse_args([command, *positionals(subs[command]), foreign])
            message = str(err.value)
            assert message.startswith(f"unknown flag {foreign}; "), message
            m = re.search(r"did you mean (--[\w-]+)\?", message)
            assert m is None or m.group(1) in own - {"--help"}, (command, foreign, message)
            checked += 1
    assert checked > 50


def test_backprop_alone_lists_the_commands():
    r = subprocess.run([sys.executable, "-m", "backprop"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for command in ("train", "evaluate", "predict", "report", "serve", "export"):
        assert f"\n  {command} " in r.stdout
    assert "COMMAND --help" in r.stdout


def test_out_folder_that_is_not_a_run_is_left_untouched(tmp_path, small_npz, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "history.json").write_text("my notes")
    assert main(small(small_npz, "--epochs", "1", "--out", str(folder))) == 2
    assert "is not empty (it holds history.json)" in one_line_error(capsys)
    assert [p.name for p in folder.iterdir()] == ["history.json"]
    assert (folder / "history.json").read_text() == "my notes"


def test_a_training_set_of_one_class_is_refused(tmp_path, capsys):
    data = tmp_path / "one.npz"
    rng = np.random.default_rng(0)
    np.savez(data, X=rng.random((50, 4)), y=np.zeros(50, dtype=np.int64))
    assert main(small(data, "--out", str(tmp_path / "run"))) == 2
    assert "holds one class only" in one_line_error(capsys)
    assert not (tmp_path / "run").exists()


def test_diverging_training_warns_and_exits_3(tmp_path, small_npz, capsys):
    out = tmp_path / "run"
    assert main(small(small_npz, "--epochs", "3", "--lr", "50", "--out", str(out))) == 3
    err = capsys.readouterr().err
    assert "no better than always answering the most common class" in err
    assert "smaller --lr" in err and "Traceback" not in err
    assert (out / "model.npz").is_file()  # kept for inspection
    # and a run that learns exits 0 (the check can pass)
    assert main(small(small_npz, "--epochs", "3", "--out", str(tmp_path / "ok"))) == 0


def test_dropout_noise_in_the_last_epoch_is_not_a_failed_run(tmp_path, capsys):
    # XOR's four points in one minibatch: with input and hidden dropout the last epoch's
    # recorded accuracy is that of noisy networks and can read 50 %; the check judges the
    # trained model itself, which the truth table scores
    argv = ["train", "--dataset", "xor", "--input-dropout", "0.1", "--quiet", "--no-report"]
    for seed in range(3):
        out = tmp_path / f"xor{seed}"
        assert main([*argv, "--seed", str(seed), "--out", str(out)]) == 0, capsys.readouterr().err
        assert "no better than" not in capsys.readouterr().err
        model = backprop.load(out / "model.npz")
        X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
        assert model.predict(X).tolist() == [0, 1, 1, 0]


def test_a_damaged_checkpoint_is_one_line(tmp_path, small_npz, capsys):
    run = tmp_path / "run"
    assert main(small(small_npz, "--epochs", "1", "--out", str(run))) == 0
    ckpt = run / "checkpoint.npz"
    good = ckpt.read_bytes()
    for damaged in (good[: len(good) // 2], b"PK\x03\x04" + b"\0" * 100, b""):
        ckpt.write_bytes(damaged)
        assert main(["train", "--resume", str(run), "--epochs", "2", "--quiet"]) == 2
        err = one_line_error(capsys)
        assert str(ckpt) in err and "Traceback" not in err


def test_continue_a_finished_run_equals_one_longer_run(tmp_path, small_npz, capsys):
    """--resume RUN --epochs N: with a constant schedule, bit for bit the N-epoch run."""
    run, reference = tmp_path / "run", tmp_path / "reference"
    assert main(small(small_npz, "--epochs", "2", "--dropout", "0.2", "--out", str(run))) == 0
    assert main(["train", "--resume", str(run), "--quiet"]) == 2
    assert "has finished (2 epochs)" in one_line_error(capsys)
    assert main(["train", "--resume", str(run), "--epochs", "2", "--quiet"]) == 2
    assert "--epochs 2: the run" in one_line_error(capsys)
    assert main(["train", "--resume", str(run), "--epochs", "4", "--quiet", "--no-report"]) == 0
    assert main(small(small_npz, "--epochs", "4", "--dropout", "0.2",
                      "--out", str(reference))) == 0
    capsys.readouterr()
    assert_same_model(run / "model.npz", reference / "model.npz")
    history = json.loads((run / "history.json").read_text())["records"]
    assert [r["epoch"] for r in history] == [1, 2, 3, 4]
    assert read_toml(run / "config.toml")["epochs"] == 4


def test_init_from_starts_at_the_models_weights(tmp_path, small_npz, capsys):
    base = tmp_path / "base"
    assert main(small(small_npz, "--epochs", "2", "--hidden", "9", "--scale", "standard",
                      "--out", str(base))) == 0
    tuned = tmp_path / "tuned"
    # a learning rate of 1e-12 leaves the weights where they started: the model's
    assert main(small(small_npz, "--epochs", "1", "--lr", "1e-12", "--validation-split", "0",
                      "--init-from", str(base / "model.npz"), "--out", str(tuned))) == 0
    ma, mb = backprop.load(base / "model.npz"), backprop.load(tuned / "model.npz")
    a, b = ma.network, mb.network  # a Model holds its network
    assert b.sizes == a.sizes == [784, 9, 10]  # the model's architecture, not --hidden 12
    for p, q in zip(a.get_params(), b.get_params()):
        np.testing.assert_allclose(p, q, atol=1e-6)
    assert mb.preprocessor.to_dict() == ma.preprocessor.to_dict()  # the model's scaling
    cfg = read_toml(tuned / "config.toml")
    assert cfg["init_from"] == str(base / "model.npz") and cfg["hidden"] == [9]
    assert main(small(small_npz, "--init-from", str(tmp_path / "nope.npz"))) == 2
    capsys.readouterr()


def test_progress_shows_the_runs_time_left():
    class FakeTrainer:
        epoch, batch, n_batches = 0, 0, 4

    lines = io.StringIO()
    p = Progress("lines", 3, lines)
    p.on_train_begin(FakeTrainer)
    for b in range(1, 5):
        FakeTrainer.batch = b
        p.on_batch_end(FakeTrainer, b, 4, 0.5)
    FakeTrainer.epoch, FakeTrainer.batch = 1, 0
    record = {"epoch": 1, "loss": 0.5, "acc": 0.9, "lr": 0.1, "seconds": 1.0}
    p.on_epoch_end(FakeTrainer, 0, record)
    p.on_epoch_end(FakeTrainer, 2, {**record, "epoch": 3})
    first, last = lines.getvalue().splitlines()
    assert first.startswith("epoch 1/3") and first.endswith(" left") and "  run " in first
    assert last.startswith("epoch 3/3") and "left" not in last  # nothing left to estimate
    bar = io.StringIO()
    p = Progress("bar", 3, bar, mininterval=0)
    p.on_train_begin(FakeTrainer)
    for b in range(1, 5):
        p.on_batch_end(FakeTrainer, b, 4, 0.5)
    p.close()
    assert "epoch 2/3" in bar.getvalue() and "run " in bar.getvalue()


def test_evaluate_into_head_ends_quietly(tmp_path, small_npz):
    """`backprop evaluate MODEL | head -1`: no "Broken pipe", no exit 2.

    The reading end is closed before the command writes, so every write
    meets the closed pipe (as after head has read its line), without a race.
    """
    run = tmp_path / "run"
    assert main(small(small_npz, "--epochs", "1", "--out", str(run))) == 0
    r, w = os.pipe()
    os.close(r)
    try:
        p = subprocess.run([sys.executable, "-m", "backprop", "evaluate", str(run / "model.npz")],
                           stdout=w, stderr=subprocess.PIPE, timeout=120)
    finally:
        os.close(w)
    err = p.stderr.decode()
    assert "Broken pipe" not in err and "Traceback" not in err and "Exception" not in err, err
    assert p.returncode == 141, (p.returncode, err)
    # the same through a real shell pipe, as a user types it
    r = subprocess.run(f"{sys.executable} -m backprop evaluate {run / 'model.npz'} | head -1",
                       shell=True, capture_output=True, text=True, timeout=120)
    assert r.stdout.startswith("accuracy") and r.stderr == "", r.stderr


def test_report_takes_the_model_file_or_its_folder(tmp_path, small_npz, capsys):
    run = tmp_path / "run"
    assert main(small(small_npz, "--epochs", "1", "--out", str(run))) == 0
    assert not (run / "report.html").exists()  # --no-report
    assert main(["report", str(run / "model.npz")]) == 0
    assert f"wrote {run / 'report.html'}" in capsys.readouterr().out
    assert (run / "report.html").is_file() and (run / "curves.png").is_file()
    (run / "report.html").unlink()
    assert main(["report", str(run)]) == 0 and (run / "report.html").is_file()
