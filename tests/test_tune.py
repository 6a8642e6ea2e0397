"""``backprop tune`` end to end on a real Dask LocalCluster of worker processes (127.0.0.1).

Each study is the real command in a subprocess, on the digits data set with a
tiny search space, so that its workers, its SIGINT and its SQLite file are
the real ones.  The truths: the Optuna database itself (states, values,
numbers; read with Optuna's own storage), SQLite's ``PRAGMA
integrity_check``, the process ids the workers recorded, and
``backprop train`` run separately on ``best.toml``.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")
pytest.importorskip("distributed")
pytest.importorskip("optuna_integration")

from backprop.configfile import config_from_file  # noqa: E402
from backprop.model.modelfile import read_metadata  # noqa: E402
from backprop.tune.study import STUDY_NAME  # noqa: E402

#: Random draws only (startup_trials above the number of trials), some learning rates
#: too small to learn in a few epochs, and a pruner that may act from the first report.
SPACE = """
[study]
startup_trials = 50
baseline = false
[pruner]
startup_trials = 1
warmup = 0
interval = 20
[base]
preset = "none"
batch_size = 64
[params]
units = {{ type = "int", low = 8, high = 32, log = true }}
lr = {{ type = "float", low = 0.00001, high = 0.3, log = true }}
epochs = {{ type = "int", low = {low}, high = {high} }}
"""


def _space(folder: Path, low: int = 8, high: int = 12) -> Path:
    path = folder / f"space-{low}-{high}.toml"
    path.write_text(SPACE.format(low=low, high=high), encoding="utf-8")
    return path


def _tune(*args: str, env: dict | None = None, timeout: float = 400) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "backprop", "tune", "--dataset", "digits", *args],
        capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )


def _resume(tune_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "backprop", "tune", "--resume", str(tune_dir), *args],
        capture_output=True, text=True, timeout=400,
    )


def _trials(tune_dir: Path) -> list:
    study = optuna.load_study(study_name=STUDY_NAME, storage=f"sqlite:///{tune_dir / 'study.db'}")
    return study.get_trials()


def _states(trials) -> list[str]:
    return [t.state.name for t in trials]


@pytest.fixture(scope="module")
def parallel_study(tmp_path_factory):
    """Six trials on two worker processes; the worker running trial 1 kills itself (SIGKILL)."""
    folder = tmp_path_factory.mktemp("tune")
    out = folder / "study"
    proc = _tune("--space", str(_space(folder)), "--trials", "6", "--workers", "2",
                 "--out", str(out), env={"BACKPROP_TUNE_TEST_KILL_TRIAL": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out, proc


def test_trials_ran_in_more_than_one_worker_process(parallel_study):
    out, _ = parallel_study
    pids = {t.user_attrs["pid"] for t in _trials(out) if "pid" in t.user_attrs}
    assert len(pids) >= 2
    assert os.getpid() not in pids
    rows = list(csv.DictReader((out / "trials.csv").open(encoding="utf-8")))
    assert [int(r["number"]) for r in rows] == list(range(6))
    assert {int(r["pid"]) for r in rows if r["pid"]} == pids


def test_a_killed_worker_fails_its_trial_and_the_study_finishes(parallel_study):
    out, proc = parallel_study
    trials = _trials(out)
    assert len(trials) == 6
    assert trials[1].state.name == "FAIL"
    assert "worker died" in trials[1].user_attrs["note"]
    assert "RUNNING" not in _states(trials)
    others = [t for t in trials if t.number != 1]
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in others)
    # the study went on to its end: the winner trained on all data and was tested once
    assert (out / "final" / "model.npz").is_file()
    assert "test accuracy (once, final model)" in proc.stdout
    for name in ("trials.csv", "report.html", "best.toml", "history.png"):
        assert (out / name).is_file(), name


def test_report_is_self_contained(parallel_study):
    out, _ = parallel_study
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in page
    assert "http://" not in page and "https://" not in page
    assert "best.toml" in page


def test_best_toml_round_trips_through_backprop_train(parallel_study, tmp_path):
    out, _ = parallel_study
    trials = _trials(out)
    best = max((t for t in trials if t.state.name == "COMPLETE"), key=lambda t: t.value)
    settings = config_from_file(out / "best.toml")
    assert settings["validation_split"] == 0.0  # trains on all the training data
    assert settings["hidden"] == [best.params["units"]]
    assert settings["lr"] == pytest.approx(best.params["lr"])
    assert settings["epochs"] == best.params["epochs"]
    again = tmp_path / "again"
    proc = subprocess.run(
        [sys.executable, "-m", "backprop", "train", "--config", str(out / "best.toml"),
         "--out", str(again), "--quiet", "--no-report"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    written = config_from_file(again / "config.toml")
    assert {k: written[k] for k in settings} == settings
    # same settings, same seed: the very model tune's final training made
    ours = read_metadata(again / "model.npz")["extra"]["test_accuracy"]
    theirs = read_metadata(out / "final" / "model.npz")["extra"]["test_accuracy"]
    assert ours == theirs


def test_ctrl_c_stops_cleanly_and_resume_continues(tmp_path):
    """SIGINT to the whole process group, as a terminal's Ctrl-C; then --resume."""
    out = tmp_path / "study"
    proc = subprocess.Popen(
        [sys.executable, "-m", "backprop", "tune", "--dataset", "digits", "--space",
         str(_space(tmp_path, 60, 80)), "--trials", "20", "--workers", "2", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        for line in proc.stdout:  # the first trial ends; another one is running
            if line.startswith("trial "):
                break
        time.sleep(1.0)
        os.killpg(proc.pid, signal.SIGINT)
        rest, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "continue it with backprop tune --resume" in rest
    assert "Traceback" not in err
    before = _trials(out)
    assert "RUNNING" not in _states(before)
    # the trials running at Ctrl-C are marked interrupted (on a busy machine none may be
    # running at that instant: then there is nothing to re-run, and numbering still continues)
    interrupted = [t.number for t in before if t.user_attrs.get("note") == "interrupted"]
    old = {t.number: (t.state, t.params, t.value) for t in before}

    done = _resume(out, "--trials", str(len(interrupted) + 1))
    assert done.returncode == 0, done.stdout + done.stderr
    after = _trials(out)
    n = len(before)
    assert [t.number for t in after] == list(range(n + len(interrupted) + 1))
    assert {t.number: (t.state, t.params, t.value) for t in after[:n]} == old
    reruns = {t.user_attrs.get("rerun_of"): t for t in after[n:]}
    for number in interrupted:
        assert reruns[number].params == old[number][1]
    with sqlite3.connect(out / "study.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    rows = list(csv.DictReader((out / "trials.csv").open(encoding="utf-8")))
    assert len(rows) == len(after)


def test_a_seeded_sequential_study_is_reproducible(tmp_path):
    space = _space(tmp_path, 6, 9)
    runs = []
    for name in ("a", "b"):
        proc = _tune("--space", str(space), "--trials", "5", "--workers", "1",
                     "--out", str(tmp_path / name))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        runs.append([(t.number, t.state.name, t.params, t.value, t.intermediate_values)
                     for t in _trials(tmp_path / name)])
    assert runs[0] == runs[1]
    assert "PRUNED" in [r[1] for r in runs[0]]  # the pruner acted
    shutil.rmtree(tmp_path / "a")


def test_a_study_on_a_table_trains_what_train_would(tmp_path):
    """scikit-learn's wine as a user's npz, the default preset: its image distortions and
    one-divisor scale would not suit it, so every trial, like ``backprop train``, trains
    undistorted on standardised features (before, every trial failed on the distortions)."""
    import numpy as np
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    data = tmp_path / "wine.npz"
    np.savez(data, X=X, y=y)
    space = tmp_path / "space.toml"
    space.write_text('[study]\nbaseline = false\n[params]\n'
                     'units = { type = "int", low = 8, high = 16 }\n'
                     'epochs = { type = "int", low = 5, high = 8 }\n', encoding="utf-8")
    out = tmp_path / "study"
    proc = subprocess.run(
        [sys.executable, "-m", "backprop", "tune", "--data-dir", str(data), "--space",
         str(space), "--trials", "2", "--workers", "1", "--out", str(out)],
        capture_output=True, text=True, timeout=400,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "every trial: inputs standardised per feature" in proc.stdout
    assert _states(_trials(out)).count("COMPLETE") >= 1
    settings = config_from_file(out / "best.toml")
    assert (settings["scale"], settings["augment"]) == ("standard", "none")
