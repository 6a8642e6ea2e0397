"""L1 and L2 penalties on the weights (never the biases), and max-norm.

With the mean cost J₀ of a minibatch (see ``losses``), the regularised cost is

    J = J₀ + (l2 / 2) Σ_layers ‖W‖²_F + l1 Σ_layers Σ |W_ij|

and its gradient adds ``l2 * W + l1 * sign(W)`` to ∂J₀/∂W.  The coefficients
are per minibatch mean: Nielsen's λ over a training set of n samples,
(λ / 2n) Σ w², is ``l2 = λ / n``; scikit-learn's ``alpha`` over a batch of B
samples is ``l2 = alpha / B``; PyTorch's ``weight_decay`` is ``l2``.

Max-norm (Srebro et al. 2005; used with dropout by Srivastava et al. 2014)
rescales each unit's incoming weight vector (a row of W) to length ≤ c after
each update.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def check_coefficients(l1: float, l2: float) -> None:
    for name, value in (("l1", l1), ("l2", l2)):
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number ≥ 0, got {value!r}")


def penalty(weights: Sequence[np.ndarray], l1: float = 0.0, l2: float = 0.0) -> float:
    """(l2 / 2) Σ ‖W‖² + l1 Σ |W| over the weight matrices."""
    total = 0.0
    for W in weights:
        if l2:
            total += 0.5 * l2 * float(np.sum(W.astype(np.float64) ** 2))
        if l1:
            total += l1 * float(np.sum(np.abs(W.astype(np.float64))))
    return total


def add_gradient(grad_W: np.ndarray, W: np.ndarray, l1: float = 0.0, l2: float = 0.0) -> None:
    """In place: grad_W += l2 * W + l1 * sign(W), the gradient of ``penalty``."""
    if l2:
        grad_W += l2 * W
    if l1:
        grad_W += l1 * np.sign(W)


def apply_max_norm(W: np.ndarray, c: float) -> None:
    """In place: scale every row of W (n_out, n_in) whose norm exceeds c back to norm c."""
    norms = np.sqrt(np.einsum("ij,ij->i", W, W))
    scale = np.minimum(1.0, c / np.maximum(norms, 1e-12)).astype(W.dtype)
    W *= scale[:, None]
