"""Shared pieces of the competitor scripts: arguments, data, FLOP count, result line.

Every competitor script trains one network on one configuration and prints a
single line ``RESULT {json}`` with its per-epoch seconds, test accuracy and
inference timings; ``bench/run.py`` starts each in its own process and reads
the child's peak RSS from ``os.wait4``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"

#: Learning rates shared by every competitor (same maths, same rates).
LEARNING_RATES = {"momentum": 0.01, "adam": 0.001}


def parse_args(description: str) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--data-dir", default=DEFAULT_DATA, help="folder with the four IDX files")
    p.add_argument("--sizes", default="784-800-10", help="layer sizes, e.g. 784-800-10")
    p.add_argument("--optimizer", choices=sorted(LEARNING_RATES), default="momentum")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--n", type=int, default=0, help="training samples (0: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--synthetic", type=int, default=0,
                   help="use this many random samples instead of files (smoke tests)")
    p.add_argument("--inference", action="store_true", help="also time prediction")
    args = p.parse_args()
    args.layer_sizes = [int(s) for s in args.sizes.split("-")]
    args.lr = LEARNING_RATES[args.optimizer]
    return args


def _find(folder: Path, stem: str) -> Path:
    for name in (f"{stem}.gz", stem, stem.replace("-idx", ".idx")):
        if (folder / name).exists():
            return folder / name
    raise FileNotFoundError(f"no {stem}[.gz] in {folder}")


def _read(path: Path) -> np.ndarray:
    try:
        from backprop.data.idx import read_idx
    except ImportError:  # pragma: no cover - older trees: a minimal reader
        import gzip

        raw = (gzip.open if path.suffix == ".gz" else open)(path, "rb").read()
        ndim = raw[3]
        shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
        return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)
    return read_idx(path)


def load_data(args: argparse.Namespace) -> tuple[np.ndarray, ...]:
    """(X, y, X_test, y_test): float32 images in [0, 1] flattened, int64 labels."""
    n_in, n_out = args.layer_sizes[0], args.layer_sizes[-1]
    if args.synthetic:
        rng = np.random.default_rng(args.seed)
        X = rng.random(((args.n or args.synthetic) + 200, n_in), dtype=np.float32)
        y = rng.integers(0, n_out, len(X))
        return X[200:], y[200:], X[:200], y[:200]
    folder = Path(args.data_dir)
    parts = []
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        parts.append(_read(_find(folder, stem)))
    X, y, Xt, yt = parts
    if args.n:
        X, y = X[: args.n], y[: args.n]
    scale = np.float32(1 / 255)
    X = np.multiply(X.reshape(len(X), -1), scale, dtype=np.float32)
    Xt = np.multiply(Xt.reshape(len(Xt), -1), scale, dtype=np.float32)
    return X, y.astype(np.int64), Xt, yt.astype(np.int64)


def gflop_per_epoch(sizes: list[int], n: int) -> float:
    """Forward 2N Σ n_in·n_out; backward twice that less the input gradient of layer 1."""
    pairs = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return 2 * n * (pairs + 2 * pairs - sizes[0] * sizes[1]) / 1e9


def time_inference(predict: Callable[[np.ndarray], object], X_test: np.ndarray) -> dict:
    """Median seconds to predict 10,000 images, and one image (latency)."""
    batch = X_test[:10000]
    predict(batch)
    full = []
    for _ in range(5):
        t = time.perf_counter()
        predict(batch)
        full.append(time.perf_counter() - t)
    one = []
    for i in range(200):
        x = X_test[i : i + 1]
        t = time.perf_counter()
        predict(x)
        one.append(time.perf_counter() - t)
    return {"predict_10k_s": statistics.median(full), "predict_1_s": statistics.median(one[20:])}


def emit(args: argparse.Namespace, epoch_seconds: list[float], accuracy: float,
         extra: dict | None = None) -> None:
    """Print the RESULT line run.py reads."""
    steady = epoch_seconds[1:] or epoch_seconds  # the first epoch warms caches and pools
    out = {
        "sizes": args.sizes,
        "optimizer": args.optimizer,
        "batch": args.batch,
        "n": args.n_train,
        "epoch_seconds": epoch_seconds,
        "s_per_epoch": statistics.median(steady),
        "accuracy": accuracy,
        "pid": os.getpid(),
        **(extra or {}),
    }
    print("RESULT " + json.dumps(out), flush=True)
