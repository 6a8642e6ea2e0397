"""``holdout.py`` with a training step or an input transform the product does not have.

Usage::

    python bench/accuracy/holdout_variants.py VARIANT NAME '{"epochs": 90, "rho": 0.05}' [DATA]

VARIANT is one of

``sam``
    Sharpness-aware minimisation (Foret et al. 2021): each step computes ∇ at
    w, then the gradient g at w + ρ∇/‖∇‖ (a second forward and backward pass
    with new dropout masks), and makes the momentum step ΔW = αΔW - ηg from w.
    ``rho`` (default 0.05) is read from the JSON.
``rdrop``
    R-Drop (Liang et al. 2021): each minibatch goes through the network twice,
    with independent dropout masks, and each copy's output error is
    δ = a₁ - y + α(a₁ - a₂): the gradient of the cross-entropy plus α times the
    KL divergence to the other copy's probabilities, held fixed.  ``alpha``
    (default 1) is read from the JSON.
``log1p``
    The raw pixels (0-255) become log(1 + x) before the recipe scales them.
``intshift``
    Each training image, with probability ``p`` (default 1), moves by a whole
    number of pixels in x and in y, each drawn from -``k``..``k`` (default 1),
    the border filled with the background (0): the random crops of padded
    images that CNNs train with, without the blur of a bilinear shift.

The rest is ``holdout.py``'s: the same split, the same line appended to
``holdout-results.jsonl``, with the variant and its parameter in ``variant``.  Only the
momentum optimiser and softmax outputs are supported by ``sam`` and ``rdrop``.
"""

from __future__ import annotations

import json
import math
import sys

import holdout
import numpy as np

import backprop.data.augment as augment_module
from backprop.data import load_dataset as _load_dataset
from backprop.engine import train as engine_train
from backprop.engine.fused import backward_fused, train_step_fused


def _batch(trainer, X, Y, idx, buffers):
    """The minibatch's inputs (augmented, as the trainer would) and targets."""
    m = len(idx)
    Xb = np.take(X, idx, axis=0, out=buffers[0][:m], mode="clip")
    Yb = np.take(Y, idx, axis=0, out=buffers[1][:m], mode="clip")
    if trainer.augment is not None:
        Xb = trainer.augment(Xb, trainer.net.rng)
    return Xb, Yb


def _record(trainer, a, Yb, labels, idx) -> None:
    m = len(idx)
    trainer.sums[0] += trainer.net.loss.value(a, Yb) * m
    trainer.sums[1] += np.count_nonzero(a.argmax(axis=1) == labels[idx])
    trainer.sums[2] += m
    trainer.batch += 1


def sam_step(rho: float):
    def step(self, X, Y, labels, idx, buffers, lr):
        net, opt = self.net, self.optimizer
        Xb, Yb = _batch(self, X, Y, idx, buffers)
        a = net.forward(Xb, train=True, reuse=True)
        _record(self, a, Yb, labels, idx)
        params = net.params()
        grad = [g.copy() for g in backward_fused(net, Yb, scale=1.0)]
        norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grad))
        eps = [g * (rho / (norm + 1e-12)) for g in grad]
        for W, e in zip(params, eps):
            W += e  # w + ρ∇/‖∇‖
        net.forward(Xb, train=True, reuse=True)
        grad_sam = backward_fused(net, Yb, scale=1.0)
        for W, e, g, dW in zip(params, eps, grad_sam, opt.velocities(params)):
            W -= e  # back to w
            dW *= opt.momentum
            dW -= lr * g  # ΔW = αΔW - η g
            W += dW
        opt.t += 1

    return step


def rdrop_step(alpha: float):
    def step(self, X, Y, labels, idx, buffers, lr):
        net, m = self.net, len(idx)
        Xb, Yb = _batch(self, X, Y, idx, buffers)
        a = net.forward(np.concatenate([Xb, Xb]), train=True, reuse=True)
        a1, a2 = a[:m], a[m:]
        _record(self, a1, Yb, labels, idx)
        # δ = a - y' with y' = y - α(a_self - a_other): (a₁ - y) + α(a₁ - a₂)
        Y2 = np.concatenate([Yb + alpha * (a2 - a1), Yb + alpha * (a1 - a2)]).astype(a.dtype)
        train_step_fused(net, self.optimizer, Y2, lr, self.l1, self.l2)

    return step


def log1p_dataset(name: str):
    ds = _load_dataset(name)
    X = ds.X_train.astype(np.float32)
    ds.X_train = np.log1p(X if ds.X_train.dtype == np.uint8 else X * 255.0)
    return ds


def intshift_augment(shape, k: int, p: float):
    h, w = shape

    def augment(Xb, rng):
        m = len(Xb)
        imgs = np.zeros((m, h + 2 * k, w + 2 * k), dtype=Xb.dtype)
        imgs[:, k:k + h, k:k + w] = Xb.reshape(m, h, w)
        dx, dy = rng.integers(-k, k + 1, size=(2, m))
        still = rng.random(m) >= p
        dx[still], dy[still] = 0, 0
        out = np.empty_like(Xb).reshape(m, h, w)
        for sx in range(-k, k + 1):
            for sy in range(-k, k + 1):
                sel = np.flatnonzero((dx == sx) & (dy == sy))
                # content moves right/down by (sx, sy): read the padded image from (k - s)
                out[sel] = imgs[sel, k - sy:k - sy + h, k - sx:k - sx + w]
        return out.reshape(m, h * w)

    return augment


def noise_augment(sigma: float):
    def augment(Xb, rng):
        return Xb + rng.standard_normal(Xb.shape, dtype=np.float32).astype(Xb.dtype) * sigma

    return augment


def main(argv: list[str]) -> None:
    variant, name = argv[0], argv[1]
    changes = json.loads(argv[2] if len(argv) > 2 else "{}")
    record: dict = {"name": variant}
    if variant == "sam":
        record["rho"] = float(changes.pop("rho", 0.05))
        engine_train.Trainer._step = sam_step(record["rho"])
    elif variant == "rdrop":
        record["alpha"] = float(changes.pop("alpha", 1.0))
        engine_train.Trainer._step = rdrop_step(record["alpha"])
    elif variant == "log1p":
        holdout.load_dataset = log1p_dataset
    elif variant == "intshift":
        record["k"], record["p"] = int(changes.pop("k", 1)), float(changes.pop("p", 1.0))
        augment = intshift_augment((28, 28), record["k"], record["p"])
        # selection._train_fold imports make_augment from its module at call time
        augment_module.make_augment = lambda cfg, shape: augment
    elif variant == "noise":
        record["sigma"] = float(changes.pop("sigma", 0.1))
        augment = noise_augment(record["sigma"])
        augment_module.make_augment = lambda cfg, shape: augment
    else:
        raise SystemExit(f"unknown variant {variant!r}: sam, rdrop, log1p, intshift or noise")
    holdout.main([name, json.dumps(changes), *argv[3:]], variant=record)


if __name__ == "__main__":
    main(sys.argv[1:])
