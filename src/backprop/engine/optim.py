"""Optimisers (the update ΔW from the gradient ∇) and learning-rate schedules.

Each optimiser has one entry point, ``step(params, grads, lr)``, which updates
the parameter arrays in place and reads as its formula, one line each:

- ``sgd``: ΔW = -η∇, W ← W + ΔW (the seed's rule; full-batch gradient descent
  is ``sgd`` with the whole training set as one batch, named ``gd``).
- ``momentum``: the textbook form ΔW_t = αΔW_{t-1} - η∇, W ← W + ΔW_t
  (Rumelhart, Hinton & Williams 1986), α = ``momentum``.
- ``nesterov``: Nesterov's accelerated gradient in the form of Sutskever et
  al. 2013 / Bengio et al. 2013: v ← αv - η∇; W ← W + αv - η∇.
- ``adam``: Kingma & Ba 2015, Algorithm 1, with its names beta1, beta2, eps.

These are the reference updates.  The training loop runs the same formulas
rearranged into fewer passes over memory (-η folded into the batch mean,
momentum's velocity made by the gradient's own BLAS product): that is
``backprop.engine.fused``, which updates the state arrays these classes hold
(``velocity``, ``m``, ``v``, ``t``) and is tested to agree with ``step``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


class Optimizer:
    """Base class: holds per-parameter state, updates parameters in place."""

    name = ""

    def __init__(self) -> None:
        self.t = 0  # number of steps taken

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray], lr: float) -> None:
        """Update ``params`` in place from the gradients ∇ = ``grads`` at learning rate η = lr.

        Parameters
        ----------
        params : list of ndarray
            [W⁽¹⁾, b⁽¹⁾, W⁽²⁾, ...], updated in place.
        grads : list of ndarray
            ∂J/∂ of each parameter, the same shapes; not modified.
        lr : float
            The learning rate η.
        """
        raise NotImplementedError

    def state_dict(self) -> dict:
        """Arrays and scalars to resume from (for checkpoints)."""
        return {"t": self.t}

    def load_state_dict(self, state: dict) -> None:
        self.t = int(state["t"])

    def _zeros_like(self, params: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [np.zeros_like(p) for p in params]


class SGD(Optimizer):
    """Plain gradient descent: ΔW = -η∇, W ← W + ΔW (the seed's rule)."""

    name = "sgd"

    def step(self, params, grads, lr):
        self.t += 1
        for W, grad in zip(params, grads):
            W += -lr * grad  # ΔW = -η∇, W ← W + ΔW


class Momentum(Optimizer):
    """ΔW_t = αΔW_{t-1} - η∇; W ← W + ΔW_t.

    Parameters
    ----------
    momentum : float in [0, 1), the α of the update.

    Attributes
    ----------
    velocity : list of ndarray or None
        ΔW_{t-1} of every parameter (None before the first step).
    """

    name = "momentum"

    def __init__(self, momentum: float = 0.9) -> None:
        super().__init__()
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        self.momentum = float(momentum)
        self.velocity: list[np.ndarray] | None = None

    def velocities(self, params: Sequence[np.ndarray]) -> list[np.ndarray]:
        """ΔW of every parameter, zeros before the first step."""
        if self.velocity is None:
            self.velocity = self._zeros_like(params)
        return self.velocity

    def step(self, params, grads, lr):
        self.t += 1
        alpha = self.momentum
        for W, grad, dW in zip(params, grads, self.velocities(params)):
            dW[...] = alpha * dW - lr * grad  # ΔW = αΔW - η∇
            W += dW  # W ← W + ΔW

    def state_dict(self):
        return {"t": self.t, "velocity": self.velocity}

    def load_state_dict(self, state):
        self.t = int(state["t"])
        self.velocity = None if state["velocity"] is None else [v.copy() for v in state["velocity"]]


class Nesterov(Momentum):
    """Nesterov momentum: v ← αv - η∇; W ← W + αv - η∇ (Sutskever et al. 2013)."""

    name = "nesterov"

    def step(self, params, grads, lr):
        self.t += 1
        alpha = self.momentum
        for W, grad, v in zip(params, grads, self.velocities(params)):
            v[...] = alpha * v - lr * grad  # v ← αv - η∇
            W += alpha * v - lr * grad  # W ← W + αv - η∇


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015, Algorithm 1).

    m ← β1 m + (1 - β1) ∇;  v ← β2 v + (1 - β2) ∇²;
    W ← W - η m̂ / (√v̂ + ε), with m̂ = m / (1 - β1ᵗ), v̂ = v / (1 - β2ᵗ).

    Parameters
    ----------
    beta1, beta2 : float in [0, 1), default 0.9 and 0.999
    eps : float > 0, default 1e-8

    Attributes
    ----------
    m, v : list of ndarray or None
        The moving averages of ∇ and ∇² (None before the first step).
    """

    name = "adam"

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
        super().__init__()
        for label, value in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{label} must be in [0, 1), got {value!r}")
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps!r}")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.m: list[np.ndarray] | None = None
        self.v: list[np.ndarray] | None = None

    def moments(self, params: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(m, v) of every parameter, zeros before the first step."""
        if self.m is None or self.v is None:
            self.m, self.v = self._zeros_like(params), self._zeros_like(params)
        return self.m, self.v

    def step(self, params, grads, lr):
        self.t += 1
        t, b1, b2 = self.t, self.beta1, self.beta2
        for W, g, m, v in zip(params, grads, *self.moments(params)):
            m[...] = b1 * m + (1 - b1) * g  # m ← β1 m + (1 - β1) g
            v[...] = b2 * v + (1 - b2) * g * g  # v ← β2 v + (1 - β2) g²
            m_hat = m / (1 - b1**t)  # m̂ = m / (1 - β1ᵗ)
            v_hat = v / (1 - b2**t)  # v̂ = v / (1 - β2ᵗ)
            W -= lr * m_hat / (np.sqrt(v_hat) + self.eps)  # W ← W - η m̂ / (√v̂ + ε)

    def state_dict(self):
        return {"t": self.t, "m": self.m, "v": self.v}

    def load_state_dict(self, state):
        self.t = int(state["t"])
        self.m = None if state["m"] is None else [a.copy() for a in state["m"]]
        self.v = None if state["v"] is None else [a.copy() for a in state["v"]]


#: Registry: name -> class.  ``gd`` is ``sgd`` on the full batch (the trainer sees to that).
OPTIMIZERS: dict[str, type[Optimizer]] = {
    "gd": SGD,
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adam": Adam,
}


def get_optimizer(name: str | Optimizer, **kwargs) -> Optimizer:
    """Build the optimiser ``name`` with the keyword arguments it accepts.

    Unused keywords (``momentum`` for adam, ``beta1`` for sgd, ...) are ignored
    so that one settings dict can serve every optimiser.
    """
    if isinstance(name, Optimizer):
        return name
    try:
        cls = OPTIMIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}"
        ) from None
    accepted = {
        SGD: (),
        Momentum: ("momentum",),
        Nesterov: ("momentum",),
        Adam: ("beta1", "beta2", "eps"),
    }[cls]
    return cls(**{k: v for k, v in kwargs.items() if k in accepted and v is not None})


# ---------------------------------------------------------------------- schedules
class Schedule:
    """Learning rate η_t for epoch t = 0, 1, ... of ``epochs``, with optional linear warm-up.

    Parameters
    ----------
    kind : {"constant", "decrease", "cumulative", "step", "exponential", "cosine"}
        - constant: η
        - decrease: η / (1 + d·t), the textbook's decrease constant d = ``decay``
        - cumulative: η / Π_{k=1..t}(1 + d·k), i.e. η_t = η_{t-1} / (1 + d·t): the
          decrease constant as Raschka's NeuralNetMLP (1st ed., 2015) applies it,
          dividing the current rate again every epoch
        - step: η · γ^⌊t / s⌋ with γ = ``gamma``, s = ``step_size``
        - exponential: η · γ^t
        - cosine: η_min + ½(η - η_min)(1 + cos(π t / T)) (Loshchilov & Hutter 2017,
          without restarts), T = ``epochs``
    lr : float > 0, the base rate η
    warmup : int, epochs of linear warm-up before the schedule starts: epoch t < warmup
        runs at η(t + 1)/(warmup + 1), so the rate climbs from η/(warmup + 1) in steps of
        η/(warmup + 1); epoch ``warmup`` runs the schedule's first rate (η) and the
        schedule counts its t from there
    """

    KINDS = ("constant", "decrease", "cumulative", "step", "exponential", "cosine")

    def __init__(
        self,
        kind: str = "constant",
        lr: float = 0.1,
        epochs: int = 1,
        decay: float = 0.0,
        gamma: float = 0.5,
        step_size: int = 10,
        lr_min: float = 0.0,
        warmup: int = 0,
    ) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"unknown schedule {kind!r}; choose one of {', '.join(self.KINDS)}")
        if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
            raise ValueError(f"learning rate lr must be a finite number > 0, got {lr!r}")
        if decay < 0:
            raise ValueError(f"decay must be ≥ 0, got {decay!r}")
        if not 0 < gamma <= 1:
            raise ValueError(f"gamma must be in (0, 1], got {gamma!r}")
        if step_size < 1:
            raise ValueError(f"step_size must be ≥ 1, got {step_size!r}")
        if warmup < 0:
            raise ValueError(f"warmup must be ≥ 0 epochs, got {warmup!r}")
        self.kind, self.lr, self.epochs = kind, float(lr), max(int(epochs), 1)
        self.decay, self.gamma, self.step_size = float(decay), float(gamma), int(step_size)
        self.lr_min, self.warmup = float(lr_min), int(warmup)

    def __call__(self, epoch: int) -> float:
        if epoch < self.warmup:
            return self.lr * (epoch + 1) / (self.warmup + 1)
        t = epoch - self.warmup
        span = max(self.epochs - self.warmup, 1)
        if self.kind == "decrease":
            return self.lr / (1.0 + self.decay * t)
        if self.kind == "cumulative":
            return self.lr * math.exp(-sum(math.log1p(self.decay * k) for k in range(1, t + 1)))
        if self.kind == "step":
            return self.lr * self.gamma ** (t // self.step_size)
        if self.kind == "exponential":
            return self.lr * self.gamma**t
        if self.kind == "cosine":
            return self.lr_min + 0.5 * (self.lr - self.lr_min) * (1 + math.cos(math.pi * t / span))
        return self.lr
