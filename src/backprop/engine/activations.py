"""Activation functions f(z) and their derivatives f'(z).

Every activation works on a batch ``z`` of shape (N, n) (rows are samples) and
offers three things:

- ``forward(z, out=None)``: a = f(z), shape (N, n);
- ``derivative(z, a)``: f'(z) elementwise, shape (N, n), written in terms of
  ``a`` where that is cheaper (sigmoid: a(1 - a), eq. (12));
- ``backward(z, a, grad_a, out=None)``: ∂J/∂z from ∂J/∂a, the chain rule
  through f.  For elementwise f this is ``grad_a * f'(z)``; softmax couples the
  units of a row, so it multiplies by its Jacobian instead.

``out`` (optional) is an array of the result's shape to write into, in any
memory order; ``backward`` accepts ``out=grad_a`` (in place).  The training
loop passes preallocated buffers this way, so the hot activations (ReLU,
softmax, tanh, identity) make no temporaries of the batch's size.  The result
is returned either way (identity returns ``z`` itself, with no copy).

``ACTIVATIONS`` is the registry used by the network, the command line, model
files and the estimator.
"""

from __future__ import annotations

import numpy as np


class Activation:
    """An elementwise activation function; subclasses fill in ``forward`` and ``derivative``."""

    name: str = ""

    def forward(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def derivative(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(
        self, z: np.ndarray, a: np.ndarray, grad_a: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Chain rule: ∂J/∂z = ∂J/∂a ⊙ f'(z) (eq. (11), (13) for elementwise f)."""
        return np.multiply(grad_a, self.derivative(z, a), out=out)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Sigmoid(Activation):
    """σ(z) = 1 / (1 + e^(-z)); σ'(z) = σ(z)(1 - σ(z)).

    Overflow-safe: e^(-z) is only evaluated for z ≥ 0 and e^(z) for z < 0, so no
    exponent is ever positive.
    """

    name = "sigmoid"

    def forward(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        e = np.exp(-np.abs(z))  # in (0, 1]: never overflows
        a = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)
        return _into(out, a)

    def derivative(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        return a * (1.0 - a)  # a(1 - a), the factor in eq. (12)

    def backward(
        self, z: np.ndarray, a: np.ndarray, grad_a: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        d = np.multiply(grad_a, a, out=out)  # (12): ∂J/∂a ⊙ a(1 - a), with one temporary
        d *= 1.0 - a
        return d


class Tanh(Activation):
    """tanh(z); tanh'(z) = 1 - tanh(z)²."""

    name = "tanh"

    def forward(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return np.tanh(z, out=out)

    def derivative(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        return 1.0 - a * a


class ReLU(Activation):
    """max(0, z); derivative 1 where z > 0, else 0 (0 is taken at z = 0)."""

    name = "relu"

    def forward(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return np.maximum(z, 0, out=out)

    def derivative(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        return (z > 0).astype(z.dtype)

    def backward(
        self, z: np.ndarray, a: np.ndarray, grad_a: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        return np.multiply(grad_a, z > 0, out=out)  # ∂J/∂a ⊙ [z > 0]


class LeakyReLU(Activation):
    """z for z > 0, ``slope``·z otherwise (Maas et al. 2013); default slope 0.01."""

    name = "leaky_relu"

    def __init__(self, slope: float = 0.01) -> None:
        if not 0 <= slope < 1:
            raise ValueError(f"leaky_relu slope must be in [0, 1), got {slope!r}")
        self.slope = float(slope)

    def forward(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return _into(out, np.where(z > 0, z, self.slope * z).astype(z.dtype, copy=False))

    def derivative(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        return np.where(z > 0, 1.0, self.slope).astype(z.dtype)


class Identity(Activation):
    """f(z) = z; f'(z) = 1.  The output of regression with mean squared error."""

    name = "identity"

    def forward(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return z  # a is z itself: no copy, whatever ``out`` is

    def derivative(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        return np.ones_like(z)

    def backward(
        self, z: np.ndarray, a: np.ndarray, grad_a: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        return _into(out, grad_a)


class Softmax(Activation):
    """softmax(z)_k = e^(z_k) / Σ_j e^(z_j), row by row.

    Shift-stable: the row maximum is subtracted first, which does not change
    the result (softmax(z + c) = softmax(z)) and keeps every exponent ≤ 0.
    Its Jacobian is ∂a_k/∂z_j = a_k(δ_kj - a_j), so the chain rule is
    ∂J/∂z = a ⊙ (∂J/∂a - Σ_j (∂J/∂a_j) a_j).
    """

    name = "softmax"

    def forward(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        e = np.subtract(z, z.max(axis=1, keepdims=True), out=out)
        np.exp(e, out=e)  # e^(z_k - max_j z_j)
        e /= e.sum(axis=1, keepdims=True)
        return e

    def derivative(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        """Diagonal of the Jacobian, a(1 - a); use ``backward`` for the full chain rule."""
        return a * (1.0 - a)

    def backward(
        self, z: np.ndarray, a: np.ndarray, grad_a: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        dot = np.sum(grad_a * a, axis=1, keepdims=True)  # Σ_j (∂J/∂a_j) a_j, one per row
        d = np.subtract(grad_a, dot, out=out)
        d *= a  # a ⊙ (∂J/∂a - Σ_j (∂J/∂a_j) a_j)
        return d


def _into(out: np.ndarray | None, result: np.ndarray) -> np.ndarray:
    """``result``, copied into ``out`` if one is given (activations without an in-place form)."""
    if out is None or out is result:
        return result
    out[...] = result
    return out


#: Registry: name -> class.  ``get_activation`` builds instances from it.
ACTIVATIONS: dict[str, type[Activation]] = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "softmax": Softmax,
    "identity": Identity,
}


def get_activation(name: str | Activation) -> Activation:
    """Return the activation called ``name`` (or ``name`` itself if it is one)."""
    if isinstance(name, Activation):
        return name
    try:
        return ACTIVATIONS[name]()
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}"
        ) from None
