"""Run one ``backprop train`` command for several seeds: test accuracy mean ± std, seconds.

Usage::

    python bench/accuracy/seeds.py "--dataset digits" [--seeds 0 1 2]

Each seed runs ``python -m backprop train ARGS --seed S --no-report --out DIR``
as a user would (one process at a time, all cores), reads the line the run
prints at its end (``test accuracy 97.49% (350/359)  |  600 epochs in 14.2s``)
and appends one JSON line per seed to ``bench/accuracy/seeds-results.jsonl``;
then it prints the mean and (sample) standard deviation over the seeds.  These
are the figures of the README's results table: test accuracy measured once,
at the end, for recipes chosen on validation data.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
LINE = re.compile(r"test accuracy ([\d.]+)% \((\d+)/(\d+)\)\s+\|\s+([\d,]+) epochs in ([\d.]+)s")


def run_one(args: list[str], seed: int) -> dict:
    """One training run; its test accuracy, epochs and training seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "backprop", "train", *args, "--seed", str(seed),
               "--no-report", "--out", str(Path(tmp) / "run")]
        start = time.time()
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        wall = time.time() - start
    found = LINE.findall(out)
    if not found:
        raise SystemExit(f"no 'test accuracy' line in the output of {shlex.join(cmd)}:\n{out}")
    acc, right, total, epochs, seconds = found[-1]
    return {"args": shlex.join(args), "seed": seed, "test_accuracy": float(acc),
            "correct": int(right), "total": int(total), "epochs": int(epochs.replace(",", "")),
            "train_seconds": float(seconds), "wall_seconds": round(wall, 1)}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("args", help="the train flags, one string")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    opts = parser.parse_args(argv)
    rows = []
    for seed in opts.seeds:
        row = run_one(shlex.split(opts.args), seed)
        rows.append(row)
        print(json.dumps(row), flush=True)
        with open(HERE / "seeds-results.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")
    accs = [r["test_accuracy"] for r in rows]
    sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
    print(f"{opts.args}: {statistics.mean(accs):.2f} % ± {sd:.2f} over seeds {opts.seeds}; "
          f"accuracies {accs}; seconds {[r['train_seconds'] for r in rows]}")


if __name__ == "__main__":
    main(sys.argv[1:])
