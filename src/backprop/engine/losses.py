"""Loss functions ℓ(a, y) of one sample, and their gradients ∂ℓ/∂a.

The cost of a minibatch of N samples is the mean J = (1/N) Σ_n ℓ(a_n, y_n)
(plus the regularisation penalty, see ``regularization``).  ``value`` returns
that mean; ``grad`` returns the per-sample ∂ℓ/∂a of shape (N, K), and the
network divides the weight gradients by N (eq. (14), (16)).

The seed's cost J(W) = -Σ[y log a + (1 - y) log(1 - a)] is
``binary_crossentropy`` summed over the output units of a sample.

Numerical safety: outputs are clipped into [ε, 1 - ε] (ε the machine epsilon
of their dtype) before any logarithm or division, so saturated outputs give a
large finite loss rather than log(0) = -inf or a division by zero.
"""

from __future__ import annotations

import numpy as np


def _eps(a: np.ndarray) -> float:
    return float(np.finfo(a.dtype).eps) if np.issubdtype(a.dtype, np.floating) else 1e-12


class Loss:
    """A per-sample loss ℓ(a, y) summed over output units, averaged over the batch."""

    name: str = ""

    def value(self, a: np.ndarray, y: np.ndarray) -> float:
        """Mean over the batch of ℓ(a_n, y_n); ``a`` and ``y`` have shape (N, K)."""
        raise NotImplementedError

    def grad(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        """∂ℓ/∂a for each sample, shape (N, K) (not divided by N)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class BinaryCrossEntropy(Loss):
    """ℓ = -Σ_k [y_k log a_k + (1 - y_k) log(1 - a_k)], the seed's J(W).

    ∂ℓ/∂a = (a - y) / (a(1 - a)).  With a sigmoid output, a(1 - a) = σ'(z)
    cancels and δ = a - y (eq. (10)); the network takes that shortcut.
    """

    name = "binary_crossentropy"

    def value(self, a: np.ndarray, y: np.ndarray) -> float:
        eps = _eps(a)
        a = np.clip(a, eps, 1.0 - eps)
        per_sample = -np.sum(y * np.log(a) + (1.0 - y) * np.log1p(-a), axis=1)
        return float(np.mean(per_sample))

    def grad(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        eps = _eps(a)
        a = np.clip(a, eps, 1.0 - eps)
        return (a - y) / (a * (1.0 - a))


class CategoricalCrossEntropy(Loss):
    """ℓ = -Σ_k y_k log a_k, for one-hot (or soft) targets y.

    ∂ℓ/∂a = -y / a.  With a softmax output the softmax Jacobian turns this into
    δ = a - y exactly (when each row of y sums to 1); the network takes that
    shortcut.
    """

    name = "categorical_crossentropy"

    def value(self, a: np.ndarray, y: np.ndarray) -> float:
        a = np.clip(a, _eps(a), 1.0)
        return float(-np.sum(y * np.log(a)) / a.shape[0])

    def grad(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        return -y / np.clip(a, _eps(a), 1.0)


class MeanSquaredError(Loss):
    """ℓ = ½ Σ_k (a_k - y_k)²; ∂ℓ/∂a = a - y.

    The factor ½ makes the identity-output delta exactly δ = a - y.
    """

    name = "mse"

    def value(self, a: np.ndarray, y: np.ndarray) -> float:
        d = a - y
        return float(0.5 * np.sum(d * d) / a.shape[0])

    def grad(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        return a - y


#: Registry: name -> class.
LOSSES: dict[str, type[Loss]] = {
    "binary_crossentropy": BinaryCrossEntropy,
    "categorical_crossentropy": CategoricalCrossEntropy,
    "mse": MeanSquaredError,
}

#: (output activation, loss) pairs for which δ⁽ᴸ⁾ = a⁽ᴸ⁾ - y holds exactly.
SHORTCUTS: frozenset[tuple[str, str]] = frozenset(
    {
        ("sigmoid", "binary_crossentropy"),
        ("softmax", "categorical_crossentropy"),
        ("identity", "mse"),
    }
)


def get_loss(name: str | Loss) -> Loss:
    """Return the loss called ``name`` (or ``name`` itself if it is one)."""
    if isinstance(name, Loss):
        return name
    try:
        return LOSSES[name]()
    except (KeyError, TypeError):
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}") from None
