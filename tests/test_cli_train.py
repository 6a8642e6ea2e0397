"""`backprop train` end to end: run folder, config files, presets, progress, errors."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _models import assert_same_model

import backprop
from backprop.cli import main
from backprop.cli.progress import Progress, epoch_line
from backprop.configfile import read_toml
from backprop.data import load_dataset

LINE = re.compile(
    r"^epoch \d+/\d+  loss \d+\.\d{4}  acc \d\.\d{4}  val_loss \d+\.\d{4}  val_acc \d\.\d{4}"
    r"  lr [\d.e-]+  \d+\.\ds(  run [\dhms]+ left)?$"
)


@pytest.fixture(scope="module")
def small_npz(tmp_path_factory) -> Path:
    """600 training and 200 test digits of the bundled sample, as the user's .npz."""
    ds = load_dataset("mnist-sample")
    path = tmp_path_factory.mktemp("data") / "small.npz"
    np.savez(path, X=ds.X_train[:600], y=ds.y_train[:600], X_test=ds.X_test[:200],
             y_test=ds.y_test[:200])
    return path


def test_train_on_bundled_sample_writes_the_run_folder(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["train", "--dataset", "mnist-sample", "--hidden", "16", "--epochs", "2",
               "--validation-split", "0.1", "--out", str(out)])
    assert rc == 0
    stdout = capsys.readouterr().out
    lines = stdout.splitlines()
    epoch_lines = [ln for ln in lines if ln.startswith("epoch ")]
    assert len(epoch_lines) == 2 and all(LINE.match(ln) for ln in epoch_lines), epoch_lines
    for name in ("config.toml", "history.json", "model.npz", "best.npz", "report.html",
                 "curves.png"):
        assert (out / name).is_file(), name
    assert (out / "checkpoint.npz").is_file()  # kept: --resume --epochs N continues the run
    history = json.loads((out / "history.json").read_text())
    assert [r["epoch"] for r in history["records"]] == [1, 2]
    cfg = read_toml(out / "config.toml")
    assert cfg["seed"] == 0 and cfg["hidden"] == [16] and cfg["dataset"] == "mnist-sample"
    assert cfg["numpy_version"] == np.__version__
    assert cfg["backprop_version"] == backprop.__version__
    # the summary's test accuracy, recomputed independently from the model file
    net = backprop.load(out / "model.npz")
    ds = load_dataset("mnist-sample")
    acc = np.mean(net.network.predict(ds.X_test.reshape(len(ds.X_test), -1) / 255.0) == ds.y_test)
    m = re.search(r"test accuracy (\d+\.\d\d)% \((\d+)/1000\)", stdout)
    assert m and int(m.group(2)) == round(acc * 1000)
    assert f"run folder: {out}" in stdout
    assert net.class_names == [str(i) for i in range(10)]
    assert net.sizes == [784, 16, 10]
    # without --preset, the run starts from the `best` recipe (flags still win)
    from backprop.presets import preset_settings

    best = preset_settings("best", "mnist-sample")
    assert cfg["augment"] == best["augment"] and cfg["dropout"] == best["dropout"]
    assert cfg["schedule"] == best["schedule"] and cfg["epochs"] == 2


def test_preset_none_gives_the_plain_defaults(tmp_path):
    from backprop.config import TrainConfig

    out = tmp_path / "run"
    assert main(["train", "--preset", "none", "--dataset", "mnist-sample", "--hidden", "8",
                 "--epochs", "1", "--quiet", "--no-report", "--out", str(out)]) == 0
    cfg = read_toml(out / "config.toml")
    plain = TrainConfig()
    assert cfg["augment"] == plain.augment and cfg["dropout"] == plain.dropout
    assert cfg["schedule"] == plain.schedule and cfg["validation_split"] == plain.validation_split


def test_config_file_gives_the_same_run_as_flags(tmp_path, small_npz, capsys):
    flags = ["--data-dir", str(small_npz), "--hidden", "12", "--epochs", "2", "--lr", "0.1",
             "--batch-size", "50", "--dropout", "0.1", "--seed", "5", "--no-report", "--quiet"]
    assert main(["train", *flags, "--out", str(tmp_path / "a")]) == 0
    # the run's own config.toml
    assert main(["train", "--config", str(tmp_path / "a" / "config.toml"), "--no-report",
                 "--quiet", "--out", str(tmp_path / "b")]) == 0
    # a hand-written file with the same settings
    hand = tmp_path / "hand.toml"
    hand.write_text(
        f'data_dir = "{small_npz}"\nhidden = [12]\nepochs = 2\nlr = 0.1\nbatch_size = 50\n'
        "dropout = 0.1\nseed = 5\n"
    )
    assert main(["train", "--config", str(hand), "--no-report", "--quiet",
                 "--out", str(tmp_path / "c")]) == 0
    assert_same_model(tmp_path / "a" / "model.npz", tmp_path / "b" / "model.npz")
    assert_same_model(tmp_path / "a" / "model.npz", tmp_path / "c" / "model.npz")
    # a different seed gives a different model (the comparison can fail)
    assert main(["train", *flags[:-4], "--seed", "6", "--no-report", "--quiet",
                 "--out", str(tmp_path / "d")]) == 0
    with pytest.raises(AssertionError):
        assert_same_model(tmp_path / "a" / "model.npz", tmp_path / "d" / "model.npz")
    capsys.readouterr()


def test_precedence_preset_then_config_then_flags(tmp_path, small_npz, capsys):
    from backprop.presets import PRESETS

    conf = tmp_path / "c.toml"
    conf.write_text("lr = 0.3\nepochs = 5\n")
    out = tmp_path / "run"
    assert main(["train", "--preset", "seed", "--config", str(conf), "--epochs", "1",
                 "--data-dir", str(small_npz), "--no-report", "--quiet",
                 "--out", str(out)]) == 0
    cfg = read_toml(out / "config.toml")
    assert cfg["hidden"] == PRESETS["seed"]["hidden"]  # from the preset
    assert cfg["activation"] == PRESETS["seed"]["activation"]
    assert cfg["lr"] == 0.3  # the config file beats the preset
    assert cfg["epochs"] == 1  # the flag beats the config file
    assert "--preset seed" in (out / "config.toml").read_text()
    capsys.readouterr()


def test_progress_lines_and_bar():
    record = {"epoch": 3, "loss": 0.11234, "acc": 0.96712, "val_loss": 0.13011,
              "val_acc": 0.964, "lr": 0.05, "seconds": 2.06}
    assert epoch_line(record, 20) == (
        "epoch 3/20  loss 0.1123  acc 0.9671  val_loss 0.1301  val_acc 0.9640  lr 0.05  2.1s"
    )

    class FakeTrainer:
        epoch = 0

    stream = io.StringIO()
    bar = Progress("bar", 2, stream, mininterval=0)
    for b in range(1, 5):
        bar.on_batch_end(FakeTrainer, b, 4, 0.5)
    first = {**record, "epoch": 1}
    bar.on_epoch_end(FakeTrainer, 0, first)
    text = stream.getvalue()
    assert "epoch 1/2" in text and "4/4" in text and "loss 0.5000" in text
    assert text.rstrip().endswith(epoch_line(first, 2))
    quiet = io.StringIO()
    Progress("quiet", 2, quiet).on_epoch_end(FakeTrainer, 0, record)
    assert quiet.getvalue() == ""


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--preset", "nonsense"], "unknown preset 'nonsense'; choose one of"),
        (["--config", "missing.toml"], "config file missing.toml does not exist"),
        (["--dataset", "nope"], "unknown data set 'nope'"),
        (["--resume", "no-such-run"], "no such run folder"),
        (["--resume", "x", "--lr", "1"], "with its own settings; drop --lr"),
        (["--activation", "swish", "--dataset", "nope"], "--activation swish: must be one of"),
        (["--hidden", "10000000000"], "--hidden 10000000000: holds 10000000000; each size must"),
        (["--lr", "-1"], "--lr -1: must be in (0, 1000]"),
        (["--dropout", "1"], "--dropout 1: must be in [0, 1)"),
        (["--batch-size", "ten"], "--batch-size ten: should be an integer"),
        (["--optimizer", "rmsprop"], "rmsprop"),
        (["--dataset", "xor", "--validation-split", "0.5", "--epochs", "0"], "epochs"),
    ],
)
def test_bad_input_gives_one_line_and_exit_2(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", *argv, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("backprop: error: ") and message in err, err
    assert "Traceback" not in err


def test_bad_config_files(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    for text, message in [
        ("epochs = ", "not valid TOML"),
        ("epochz = 3\n", "unknown setting(s) epochz"),
        ('epochs = "many"\n', "epochs = 'many' should be an integer"),
        ("[section]\nlr = 1\n", "tables [section] are not used"),
    ]:
        bad.write_text(text)
        assert main(["train", "--config", str(bad), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert str(bad) in err and message in err, err


def test_out_folder_holding_a_run_is_refused(tmp_path, small_npz, capsys):
    args = ["train", "--data-dir", str(small_npz), "--hidden", "4", "--epochs", "1",
            "--validation-split", "0.1", "--quiet", "--no-report", "--out", str(tmp_path)]
    assert main(args) == 0
    assert main(args) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path)]) == 2
    assert "has finished" in capsys.readouterr().err


def test_subprocess_train_evaluate_predict_report(tmp_path, small_npz):
    """The commands as a user runs them, in a real process."""
    from PIL import Image

    def bp(*args):
        return subprocess.run([sys.executable, "-m", "backprop", *args], capture_output=True,
                              text=True, cwd=tmp_path, timeout=120)

    r = bp("train", "--data-dir", str(small_npz), "--hidden", "32", "--epochs", "2",
           "--validation-split", "0.1")
    assert r.returncode == 0, r.stderr
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and re.fullmatch(r"small-\d{8}-\d{6}", runs[0].name)
    run = runs[0]
    assert sum(LINE.match(ln) is not None for ln in r.stdout.splitlines()) == 2
    model = run / "model.npz"

    r = bp("evaluate", str(model), "--json")
    assert r.returncode == 0, r.stderr
    metrics = json.loads(r.stdout)
    with np.load(small_npz) as z:
        X_test, y_test = z["X_test"], z["y_test"]
    net = backprop.load(model)
    expected = np.mean(net.network.predict(X_test.reshape(200, -1) / 255.0) == y_test)
    assert metrics["n"] == 200 and metrics["accuracy"] == pytest.approx(expected)

    png = tmp_path / "digit.png"
    Image.fromarray(255 - X_test[0]).resize((120, 120)).convert("RGB").save(png)
    r = bp("predict", str(model), str(png), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out[0]["file"] == str(png) and len(out[0]["top"]) == 3

    (run / "report.html").unlink()
    r = bp("report", str(run))
    assert r.returncode == 0 and (run / "report.html").is_file()
