"""The benchmark's backprop competitor runs end to end on generated data (no timing checks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def test_backprop_competitor_runs_one_epoch_on_generated_data():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "bench"), str(ROOT / "src")])
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "compete_backprop.py"), "--synthetic", "300",
         "--sizes", "784-16-10", "--epochs", "1", "--batch", "64", "--inference"],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    ).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT "))
    result = json.loads(line[len("RESULT "):])
    assert result["n"] == 300
    assert len(result["epoch_seconds"]) == 1
    assert 0.0 <= result["accuracy"] <= 1.0
    assert result["predict_10k_s"] > 0 and result["predict_1_s"] > 0


def test_accuracy_probe_runs_on_the_bundled_sample(tmp_path):
    """bench/accuracy/probe.py: one epoch on the MNIST sample, every probe-only option on."""
    cands = tmp_path / "c.json"
    cands.write_text(json.dumps({"t": {
        "data": "mnist-sample", "hidden": [16], "epochs": 2, "validation_split": 0,
        "swa_from": 1, "class_flip": [0, 1], "standardize": True,
    }}))
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "accuracy" / "probe.py"), str(cands), "t",
         str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120, check=True, cwd=tmp_path,
    ).stdout
    row = json.loads(out.strip().splitlines()[-1])
    assert row["epochs"] == 2 and len(row["test_log"]) == 2 and row["swa_epochs"] == 2
    assert 0.5 < row["test_acc"] <= 1.0  # 16 hidden units learn the digits within 2 epochs
    with np.load(tmp_path / "out" / "t.npz") as z:
        assert z["P"].shape == z["P_flipped"].shape == z["P_swa"].shape == (1000, 10)
        assert np.mean(z["P"].argmax(1) == z["y"]) == row["test_acc"]
