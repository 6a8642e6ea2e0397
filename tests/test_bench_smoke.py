"""The benchmark's backprop competitor runs end to end on generated data (no timing checks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
