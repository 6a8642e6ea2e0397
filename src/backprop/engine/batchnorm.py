"""Batch normalisation of a hidden layer (Ioffe & Szegedy 2015), its gradient and its folding.

A hidden layer with batch normalisation computes, for a batch of N rows
(docs/math.md, "Batch normalisation"):

    v = a W⁽ˡ⁾ᵀ                       the product, without a bias
    ẑ = (v - μ) / √(σ² + ε)           (B1)  μ, σ²: v's mean and variance over the batch
    z = γ ⊙ ẑ + b                     (B2)  γ, b per unit, learnt; a = f(z) as before

so ``z`` is still the activation's input and δ = ∂ℓ/∂z is still (11)-(13)'s
δ.  The layer's bias b is the shift after the normalisation (Ioffe &
Szegedy's β): a bias before it would cancel against μ.  The backward pass
(``Network.backward``) adds

    ∂J/∂γ = mean over the batch of δ ⊙ ẑ,  ∂J/∂b = mean of δ           (B3)
    δᵥ = γ/√(σ² + ε) ⊙ (δ - mean(δ) - ẑ ⊙ mean(δ ⊙ ẑ))                (B4)

after which (13)-(17) run on δᵥ, the δ of the product v.  (B4) is the chain
rule through ẑ with μ and σ² depending on every row of the batch; it is
linear in δ, so it holds for the per-sample δ as for the batch mean's.

At inference μ and σ² are the running averages kept during training
(``MOMENTUM``, the unbiased batch variance, as PyTorch's ``BatchNorm1d``), and
the layer is one affine map: ``fold`` gives W' = (γ/σ) ⊙ W and
b' = b - γμ/σ, so a trained model is a plain network (model files, ONNX).
"""

from __future__ import annotations

import numpy as np

#: ε in √(σ² + ε), as Ioffe & Szegedy's and PyTorch's default.
EPS = 1e-5

#: Weight of the newest batch in the running averages of μ and σ².
MOMENTUM = 0.1


def normalize(v: np.ndarray, out: np.ndarray | None = None,
              scratch: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """(B1): ẑ = (v - μ)/√(σ² + ε) with the batch's own μ and σ².

    Parameters
    ----------
    v : ndarray, shape (N, n)
        The layer's products W a for a batch.
    out, scratch : ndarray, shape (N, n), optional
        Where to write ẑ, and a scratch array (``v`` itself may be it).

    Returns
    -------
    z_hat : ndarray, shape (N, n)
    mean, var : ndarray, shape (n,)
        μ and σ² of the batch (σ² the biased variance the batch is normalised by).
    inv_std : ndarray, shape (n,)
        1/√(σ² + ε), which (B4) reuses.
    """
    mean = v.mean(axis=0)
    z_hat = np.subtract(v, mean, out=out)
    var = np.square(z_hat, out=scratch).mean(axis=0)
    inv_std = 1.0 / np.sqrt(var + EPS)
    z_hat *= inv_std
    return z_hat, mean, var, inv_std.astype(v.dtype, copy=False)


def backward(delta: np.ndarray, z_hat: np.ndarray, inv_std: np.ndarray, gamma: np.ndarray,
             out: np.ndarray | None = None) -> np.ndarray:
    """(B4): δᵥ = γ/σ ⊙ (δ - mean(δ) - ẑ ⊙ mean(δ ⊙ ẑ)), means over the batch.

    Parameters
    ----------
    delta : ndarray, shape (N, n)
        δ = ∂ℓ/∂z of the layer's normalised pre-activation z = γẑ + b.
    z_hat : ndarray, shape (N, n)
    inv_std : ndarray, shape (n,)
        1/√(σ² + ε) of the batch.
    gamma : ndarray, shape (n,)
    out : ndarray, shape (N, n), optional
        Where to write δᵥ; not ``delta`` itself.
    """
    mean_delta = delta.mean(axis=0)
    mean_delta_z_hat = np.einsum("ij,ij->j", delta, z_hat) / len(delta)
    delta_v = np.multiply(z_hat, mean_delta_z_hat, out=out)  # ẑ ⊙ mean(δ ⊙ ẑ)
    delta_v += mean_delta
    np.subtract(delta, delta_v, out=delta_v)  # δ - mean(δ) - ẑ ⊙ mean(δ ⊙ ẑ)
    delta_v *= gamma * inv_std
    return delta_v


def update_running(running_mean: np.ndarray, running_var: np.ndarray, mean: np.ndarray,
                   var: np.ndarray, n: int) -> None:
    """Move the running averages towards a training batch's μ and unbiased σ², in place.

    A batch of one row has no variance and leaves them as they are.
    """
    if n < 2:
        return
    running_mean *= 1.0 - MOMENTUM
    running_mean += MOMENTUM * mean
    running_var *= 1.0 - MOMENTUM
    running_var += MOMENTUM * var * (n / (n - 1))


def fold(W: np.ndarray, b: np.ndarray, gamma: np.ndarray, mean: np.ndarray,
         var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The inference layer as one affine map: W' = (γ/σ) ⊙ W, b' = b - γμ/σ.

    γ ⊙ (W a - μ)/σ + b = W' a + b' with σ = √(var + ε); W of shape (n_out, n_in).
    Computed in float64 and returned in W's dtype.
    """
    scale = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + EPS)
    W_folded = (W * scale[:, None]).astype(W.dtype)
    b_folded = (b - scale * mean).astype(b.dtype)
    return W_folded, b_folded
