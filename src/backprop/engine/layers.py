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

from backprop.engine.activations import Activation, get_activation


class Dense:
    """A fully connected layer z = a_prev Wᵀ + b followed by an activation.

    Parameters
    ----------
    W : ndarray, shape (n_out, n_in)
    b : ndarray, shape (n_out,)
    activation : str or Activation
    """

    def __init__(self, W: np.ndarray, b: np.ndarray, activation: str | Activation) -> None:
        if W.ndim != 2 or b.shape != (W.shape[0],):
            raise ValueError(
                f"Dense needs W of shape (n_out, n_in) and b of shape (n_out,), "
                f"got W {W.shape} and b {b.shape}"
            )
        self.W = W
        self.b = b
        self.activation = get_activation(activation)

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
        if z_out is not None and z_out.flags.c_contiguous:
            # A row per sample (prediction): each row's z is the same whatever the batch
            z = np.matmul(a_prev, self.W.T, out=z_out)
            z += self.b
        else:
            # A column per sample: the seed's z⁽ˡ⁺¹⁾ = W⁽ˡ⁾a⁽ˡ⁾ + b⁽ˡ⁾ for the whole batch
            zT = np.matmul(self.W, a_prev.T, out=None if z_out is None else z_out.T)
            zT += self.b[:, None]
            z = zT.T
        return z, self.activation.forward(z, out=a_out)  # a = f(z)

    def __repr__(self) -> str:
        return f"Dense({self.n_in} -> {self.n_out}, {self.activation.name})"


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
