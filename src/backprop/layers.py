"""Dense layers and inverted dropout.

Notation (docs/math.md): batches are row-major, a⁽ˡ⁾ has shape (N, n_l); a
dense layer holds W of shape (n_out, n_in), as torch.nn.Linear, and b of
shape (n_out,), and computes z = a_prev Wᵀ + b, a = f(z).  For one sample
(a column vector) that is the seed's z⁽ˡ⁺¹⁾ = W⁽ˡ⁾a⁽ˡ⁾ + b⁽ˡ⁾.
"""

from __future__ import annotations

import numpy as np

from backprop.activations import Activation, get_activation


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

    def forward(self, a_prev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (z, a) for a batch ``a_prev`` of shape (N, n_in); both (N, n_out)."""
        z = a_prev @ self.W.T  # z = W a + b, for every row at once
        z += self.b
        return z, self.activation.forward(z)

    def __repr__(self) -> str:
        return f"Dense({self.n_in} -> {self.n_out}, {self.activation.name})"


def dropout_mask(
    shape: tuple[int, ...], rate: float, rng: np.random.Generator, dtype=np.float32
) -> np.ndarray:
    """Inverted dropout mask: 0 with probability ``rate``, else 1 / (1 - rate).

    Multiplying activations by it keeps their expectation, so nothing changes
    at prediction time (Srivastava et al. 2014, with the scaling moved to
    training).
    """
    keep = 1.0 - rate
    dtype = np.dtype(dtype)
    u = rng.random(shape, dtype=np.float32 if dtype == np.float32 else np.float64)
    mask = (u < keep).astype(dtype)
    mask *= dtype.type(1.0 / keep)
    return mask
