"""One Fashion-MNIST probe run: train a candidate, log test accuracy per epoch, keep the outputs.

Usage::

    python bench/accuracy/probe.py CANDIDATES.json NAME [OUT_DIR] [DATA_DIR]

A candidate is a dict of TrainConfig fields, plus these probe-only keys:

- ``"data"``: ``"fashion-mnist"`` (default) or ``"mnist-sample"``;
- ``"standardize"``: per-pixel zero mean, unit variance (σ + 0.05) instead of [0, 1];
- ``"class_flip"``: a list of classes mirrored left-right with probability ½
  (e.g. the clothes and bags of Fashion-MNIST, not its shoes, which all face left);
- ``"swa_from"``: average the weights of this epoch and every later one
  (stochastic weight averaging, Izmailov et al. 2018) and report that too.

Unlike ``sweep.py`` this trains on the whole training set when the candidate
says ``"validation_split": 0`` and reports the last epoch.  It prints one JSON
line (test accuracy, with left-right test-time flips, of the averaged weights,
the seconds and the test accuracy after every epoch) and saves the test-set
probabilities as OUT_DIR/NAME.npz (``P``, ``P_flipped``, ``P_swa`` and the
labels ``y``), so that runs can be ensembled afterwards: the accuracy of the
sum of several runs' ``P`` arrays.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from backprop.config import TrainConfig, build_network
from backprop.data.augment import make_augment
from backprop.engine.train import Callback, Trainer, split

sys.path.insert(0, str(Path(__file__).parent))
from sweep import load  # noqa: E402


class TestLog(Callback):
    """Test accuracy after every epoch, and the running sum for weight averaging."""

    def __init__(self, net, Xte, yte, swa_from: int | None) -> None:
        self.net, self.Xte, self.yte, self.swa_from = net, Xte, yte, swa_from
        self.log: list[float] = []
        self.sum: list[np.ndarray] | None = None
        self.k = 0

    def on_epoch_end(self, trainer, epoch, record):
        self.log.append(round(float(np.mean(self.net.predict(self.Xte) == self.yte)), 4))
        if self.swa_from is not None and epoch + 1 >= self.swa_from:
            ps = [p.astype(np.float64) for p in self.net.params()]
            self.sum = ps if self.sum is None else [a + b for a, b in zip(self.sum, ps)]
            self.k += 1


def class_flipper(trainer_ref: list, y: np.ndarray, classes: list[int], batch_size: int):
    """An augment hook mirroring the images of ``classes`` with probability ½."""
    chosen = np.isin(y, classes)

    def augment(Xb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        tr = trainer_ref[0]
        idx = tr.perm[tr.batch * batch_size : tr.batch * batch_size + len(Xb)]  # rows of X
        flip = chosen[idx] & (rng.random(len(Xb)) < 0.5)
        out = Xb.copy()
        images = out.reshape(-1, 28, 28)
        images[flip] = images[flip, :, ::-1]
        return out

    return augment


def main() -> None:
    cands = json.loads(Path(sys.argv[1]).read_text())
    name = sys.argv[2]
    out_dir = Path(sys.argv[3]) if len(sys.argv) > 3 else Path("probe-out")
    data_dir = Path(sys.argv[4]) if len(sys.argv) > 4 else Path(".sweepdata")
    spec = dict(cands[name])
    data = spec.pop("data", "fashion-mnist")
    standardize = spec.pop("standardize", False)
    swa_from = spec.pop("swa_from", None)
    flip_classes = spec.pop("class_flip", None)
    cfg = TrainConfig.from_dict(spec)
    Xtr, ytr, Xte, yte = load(data, data_dir)
    if standardize:
        mu, sd = Xtr.mean(0), Xtr.std(0) + 0.05
        Xtr, Xte = ((Xtr - mu) / sd).astype(np.float32), ((Xte - mu) / sd).astype(np.float32)
    net = build_network(cfg, 784, 10)
    val = None
    if cfg.validation_split:
        Xtr, ytr, Xv, yv = split(Xtr, ytr, cfg.validation_split, net.rng)
        val = (Xv, yv)
    log = TestLog(net, Xte, yte, swa_from)
    ref: list = []
    augment = make_augment(cfg, (28, 28))
    if flip_classes:
        augment = class_flipper(ref, ytr, flip_classes, cfg.batch_size)
    trainer = Trainer(net, cfg, augment=augment, callbacks=[log])
    ref.append(trainer)
    t0 = time.perf_counter()
    hist = trainer.fit(Xtr, ytr, validation_data=val)
    seconds = time.perf_counter() - t0  # includes the per-epoch test evaluation
    P = net.predict_proba(Xte)
    mirrored = Xte.reshape(-1, 28, 28)[:, :, ::-1].reshape(len(Xte), -1).copy()
    Pf = net.predict_proba(mirrored)
    row = {"name": name, "seconds": round(seconds, 1),
           "test_acc": float(np.mean(P.argmax(1) == yte)),
           "test_acc_flip_tta": float(np.mean((P + Pf).argmax(1) == yte)),
           "best_epoch": hist.best_epoch, "epochs": len(hist)}
    Ps = P
    if log.k:
        final = [p.copy() for p in net.params()]
        net.set_params([(a / log.k).astype(net.dtype) for a in log.sum])
        Ps = net.predict_proba(Xte)
        row.update(test_acc_swa=float(np.mean(Ps.argmax(1) == yte)), swa_epochs=log.k)
        net.set_params(final)
    row["test_log"] = log.log
    out_dir.mkdir(parents=True, exist_ok=True)
    np.savez(out_dir / f"{name}.npz", P=P, P_flipped=Pf, P_swa=Ps, y=yte)
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
