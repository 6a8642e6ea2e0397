"""MLPClassifier's rules, as ``backprop.sklearn.BackpropClassifier`` follows them.

Which of scikit-learn's ``MLPClassifier`` parameters are taken and how each is
checked (through the declaration of the backprop training setting it maps to,
in ``backprop.config``), the learning-rate rules "constant", "invscaling" and
"adaptive", and the stopping rule on ``tol`` and ``n_iter_no_change``.  The
estimator class itself, with scikit-learn's fit/predict protocol, is in
``backprop.sklearn``.  Nothing here imports scikit-learn.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING

import numpy as np

from backprop.config import SETTINGS
from backprop.engine.optim import Schedule
from backprop.engine.train import Callback, Trainer

if TYPE_CHECKING:
    from backprop.sklearn import BackpropClassifier

#: MLPClassifier parameters that BackpropClassifier refuses (they must stay None), and why.
UNSUPPORTED = {
    "max_fun": "it only bounds the 'lbfgs' solver's loss evaluations, and backprop has no "
    "L-BFGS solver",
}
#: Parameters that are backprop's training settings, checked by their declaration in
#: ``backprop.config.TrainConfig`` (``alpha`` by that of ``l2``, ``max_iter`` by ``epochs``).
AS_SETTINGS = {
    "hidden_layer_sizes": "hidden", "activation": "activation", "solver": "optimizer",
    "alpha": "l2", "batch_size": "batch_size", "learning_rate_init": "lr",
    "max_iter": "epochs", "shuffle": "shuffle", "momentum": "momentum", "beta_1": "beta1",
    "beta_2": "beta2", "epsilon": "eps", "dropout": "dropout", "dtype": "dtype",
    "batch_norm": "batch_norm",
}
SOLVERS = SETTINGS["optimizer"].choices
LEARNING_RATES = ("constant", "invscaling", "adaptive")


class _Rate(Schedule):
    """scikit-learn's learning-rate rules, per epoch (as MLPClassifier updates them)."""

    def __init__(self, kind: str, lr: float, power_t: float) -> None:
        super().__init__("constant", lr=lr)
        self.rule, self.power_t = kind, float(power_t)
        self.rate = float(lr)  # "adaptive": divided by 5 by _Stopping
        self.t = 0  # samples seen, for "invscaling"

    def __call__(self, epoch: int) -> float:
        if self.rule == "invscaling":
            return self.lr / (self.t + 1) ** self.power_t
        if self.rule == "adaptive":
            return self.rate
        return self.lr


class _Stopping(Callback):
    """MLPClassifier's rule: stop (or, "adaptive", divide η by 5) after more than
    ``n_iter_no_change`` epochs without an improvement by ``tol``."""

    def __init__(self, est: BackpropClassifier, rate: _Rate, validating: bool, n: int) -> None:
        self.est, self.rate, self.validating, self.n = est, rate, validating, n
        self.converged = False
        self.best_params: list[np.ndarray] | None = None

    def on_epoch_end(self, trainer: Trainer, epoch: int, record: dict) -> None:
        est = self.est
        self.rate.t += self.n
        est.t_ += self.n
        est.loss_curve_.append(float(record["loss"]))
        est.n_iter_ += 1
        if self.validating:
            score = float(record["val_acc"])
            est.validation_scores_.append(score)
            worse = score < est.best_validation_score_ + est.tol
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                self.best_params = trainer.net.get_params()
        else:
            loss = float(record["loss"])
            worse = loss > est.best_loss_ - est.tol
            est.best_loss_ = min(est.best_loss_, loss)
        est._no_improvement_count = est._no_improvement_count + 1 if worse else 0
        if est._no_improvement_count > est.n_iter_no_change:
            if self.rate.rule == "adaptive" and self.rate.rate > 1e-6:
                self.rate.rate /= 5.0
                est._no_improvement_count = 0
            else:
                self.converged = True
                trainer.stop_training = True

    def on_train_end(self, trainer: Trainer) -> None:
        if self.best_params is not None:
            trainer.net.set_params(self.best_params)


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _plain(v):
    """NumPy integers (alone or in a tuple) as Python ints, for the settings' checks."""
    if isinstance(v, (tuple, list, np.ndarray)):
        return [_plain(x) for x in v]
    return int(v) if _is_int(v) else v


def _is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def check_params(est: BackpropClassifier) -> None:
    """Refuse, with a ValueError naming the parameter, the value and what it must be, any
    parameter of ``est`` that MLPClassifier or backprop's training settings would refuse."""
    for name, why in UNSUPPORTED.items():
        if getattr(est, name) is not None:
            raise ValueError(
                f"BackpropClassifier does not use MLPClassifier's parameter {name}: {why}; "
                "leave it out (None)"
            )
    if est.solver == "lbfgs":
        raise ValueError(
            "BackpropClassifier: solver='lbfgs' is not available: backprop trains with "
            f"first-order optimisers; use one of {', '.join(SOLVERS)}"
        )
    for name, key in AS_SETTINGS.items():
        value = getattr(est, name)
        if name == "activation" and value == "logistic":
            value = "sigmoid"
        if name == "batch_size" and value == "auto":
            continue
        decl = SETTINGS[key]
        try:
            problem = decl.problem(decl.convert(_plain(value)))
        except TypeError as exc:
            problem = str(exc)
        if problem is not None:
            extra = ' or "auto"' if name == "batch_size" else ""
            raise ValueError(
                f"BackpropClassifier: {name} = {value!r} {problem}{extra} "
                f"(backprop's setting {key})"
            )
    for name, ok, want in (
        ("learning_rate", est.learning_rate in LEARNING_RATES,
         "one of " + ", ".join(LEARNING_RATES)),
        ("tol", _is_real(est.tol) and est.tol >= 0, "a number ≥ 0"),
        ("power_t", _is_real(est.power_t) and est.power_t >= 0, "a number ≥ 0"),
        ("n_iter_no_change", _is_int(est.n_iter_no_change) and est.n_iter_no_change >= 1,
         "an integer ≥ 1"),
        ("validation_fraction",
         _is_real(est.validation_fraction) and 0 < est.validation_fraction < 1,
         "a number in (0, 1)"),
    ):
        if not ok:
            raise ValueError(
                f"BackpropClassifier: {name} = {getattr(est, name)!r} must be {want}"
            )
