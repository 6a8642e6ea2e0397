"""Dense layers and inverted dropout.

Notation (docs/math.md): batches are row-major, a⁽ˡ⁾ has shape (N, n_l); a
dense layer holds W of shape (n_out, n_in), as torch.nn.Linear, and b of
shape (n_out,), and computes z = a_prev Wᵀ + b, a = f(z).  For one sample
(a column vector) that is the seed's z⁽ˡ⁺¹⁾ = W⁽ˡ⁾a⁽ˡ⁾ + b⁽ˡ⁾.

Memory order: the product is computed in the seed's orientation, zᵀ = W aᵀ
(one column per sample), so the z and a a layer allocates are the row-major
(N, n_out) arrays' transposes: Fortran-ordered (N, n_out) arrays, which is
the layout OpenBLAS computes fastest for W of shape (n_out, n_in) (measured
in bench/README.md).  Shapes and values are the same either way.
"""

from __future__ import annotations

import numpy as np

from backprop.engine import batchnorm
from backprop.engine.activations import Activation, get_activation


class Dense:
    """A fully connected layer z = a_prev Wᵀ + b followed by an activation.

    With batch normalisation (``backprop.engine.batchnorm``) the training
    graph is z = γ ⊙ ẑ + b, ẑ the product a_prev Wᵀ normalised over the batch
    (``forward_batch``); ``forward`` is then the inference map, with the running
    averages of the batches' mean and variance folded into W and b.

    Parameters
    ----------
    W : ndarray, shape (n_out, n_in)
    b : ndarray, shape (n_out,)
    activation : str or Activation
    batch_norm : bool, default False
    gamma : ndarray, shape (n_out,), optional
        Batch normalisation's scale γ (default ones).

    Attributes
    ----------
    gamma, running_mean, running_var : ndarray, shape (n_out,), or None without
        batch normalisation (running averages start at 0 and 1).
    """

    def __init__(self, W: np.ndarray, b: np.ndarray, activation: str | Activation,
                 batch_norm: bool = False, gamma: np.ndarray | None = None) -> None:
        if W.ndim != 2 or b.shape != (W.shape[0],):
            raise ValueError(
                f"Dense needs W of shape (n_out, n_in) and b of shape (n_out,), "
                f"got W {W.shape} and b {b.shape}"
            )
        self.W = W
        self.b = b
        self.activation = get_activation(activation)
        self.gamma = self.running_mean = self.running_var = None
        if batch_norm:
            n = W.shape[0]
            self.gamma = np.ones(n, W.dtype) if gamma is None else gamma
            if self.gamma.shape != (n,):
                raise ValueError(f"Dense needs gamma of shape ({n},), got {self.gamma.shape}")
            self.running_mean = np.zeros(n, W.dtype)
            self.running_var = np.ones(n, W.dtype)

    @property
    def batch_norm(self) -> bool:
        return self.gamma is not None

    def inference_params(self) -> tuple[np.ndarray, np.ndarray]:
        """(W, b) of the layer at inference: batch normalisation folded in where it has it."""
        if self.gamma is None:
            return self.W, self.b
        return batchnorm.fold(self.W, self.b, self.gamma, self.running_mean, self.running_var)

    @property
    def n_in(self) -> int:
        return self.W.shape[1]

    @property
    def n_out(self) -> int:
        return self.W.shape[0]

    def forward(
        self,
        a_prev: np.ndarray,
        z_out: np.ndarray | None = None,
        a_out: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (z, a) for a batch ``a_prev`` of shape (N, n_in); both (N, n_out).

        Parameters
        ----------
        a_prev : ndarray, shape (N, n_in)
        z_out, a_out : ndarray, shape (N, n_out), optional
            Buffers to write z and a into; ``a_out`` may be ``z_out`` itself
            when z is not needed afterwards.  A Fortran-ordered ``z_out`` (or
            none) computes zᵀ = W aᵀ, the fast layout for training (see the
            module docstring); a C-ordered one computes z = a Wᵀ row by row,
            so that a sample's output does not depend on the rest of its batch
            (prediction uses this).
        """
        W, b = self.inference_params()
        if z_out is not None and z_out.flags.c_contiguous:
            # A row per sample (prediction): each row's z is the same whatever the batch
            z = np.matmul(a_prev, W.T, out=z_out)
            z += b
        else:
            z = _columns_product(W, a_prev, z_out)
            z += b  # the seed's z⁽ˡ⁺¹⁾ = W⁽ˡ⁾a⁽ˡ⁾ + b⁽ˡ⁾ for the whole batch
        return z, self.activation.forward(z, out=a_out)  # a = f(z)

    def forward_batch(
        self,
        a_prev: np.ndarray,
        z_out: np.ndarray | None = None,
        z_hat_out: np.ndarray | None = None,
        a_out: np.ndarray | None = None,
    ) -> tuple[np.ndarray, ...]:
        """The training graph with batch normalisation: (z, a, ẑ, μ, σ², 1/√(σ² + ε)).

        v = a_prev Wᵀ, ẑ = (v - μ)/√(σ² + ε) over the batch (B1), z = γ ⊙ ẑ + b
        (B2), a = f(z).  ``z_out``, ``z_hat_out`` and ``a_out`` as in ``forward``
        (``z_out`` holds v, then z).
        """
        v = _columns_product(self.W, a_prev, z_out)  # v = W a, no bias: b comes after
        z_hat, mean, var, inv_std = batchnorm.normalize(v, out=z_hat_out, scratch=v)  # (B1)
        z = np.multiply(z_hat, self.gamma, out=v)  # (B2): z = γ ⊙ ẑ + b
        z += self.b
        return z, self.activation.forward(z, out=a_out), z_hat, mean, var, inv_std

    def __repr__(self) -> str:
        return f"Dense({self.n_in} -> {self.n_out}, {self.activation.name})"


def _columns_product(W: np.ndarray, a_prev: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    """a_prev Wᵀ computed as W a_prevᵀ (a column per sample): an (N, n_out) array, F-ordered."""
    return np.matmul(W, a_prev.T, out=None if out is None else out.T).T


def dropout_mask(
    shape: tuple[int, ...],
    rate: float,
    rng: np.random.Generator,
    dtype=np.float32,
    out: np.ndarray | None = None,
    order: str = "C",
) -> np.ndarray:
    """Inverted dropout mask: 0 with probability ``rate``, else 1 / (1 - rate).

    Multiplying activations by it keeps their expectation, so nothing changes
    at prediction time (Srivastava et al. 2014, with the scaling moved to
    training).  ``out``: a contiguous array of ``shape`` and ``dtype`` to draw
    into; without it, a new one in ``order`` ("C" or "F").  The draws fill
    memory in order, so ``out`` and a new array of its layout get the same mask.
    The mask should have the layout of the activations it multiplies: a product
    of a C-ordered and a column-major array is several times slower.
    """
    keep = 1.0 - rate
    dtype = np.dtype(dtype)
    if out is None:
        out = np.empty(shape, dtype, order=order)
    u = rng.random(shape, dtype=dtype.type, out=out)  # U[0, 1), drawn in memory order
    mask = np.less(u, keep, out=u)  # 1.0 where u < keep, else 0.0, in place
    mask *= dtype.type(1.0 / keep)
    return mask
