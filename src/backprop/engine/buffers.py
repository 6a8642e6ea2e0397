"""The arrays of one training step, allocated once per batch size and reused.

``Network.forward(X, train, reuse=True)`` (the training loop's call) writes z,
a and the dropout masks into a ``StepBuffers`` kept per batch size;
``backprop.engine.fused`` adds the deltas, δ/N and the gradients.  A step then
allocates nothing of the batch's size.

Layout: every (n, k) batch array is column-major, one column per sample as in
the seed (the transpose of a C-ordered (k, n) array), the layout in which
OpenBLAS runs z = W a, Wᵀδ and δ aᵀ fastest (bench/README.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def columns(n: int, k: int, dtype: np.dtype) -> np.ndarray:
    """An (n, k) array stored column-major: the transpose of a C-ordered (k, n) array."""
    return np.empty((k, n), dtype=dtype).T


class StepBuffers:
    """The arrays of one forward and backward pass over a batch of ``n`` samples.

    The deltas, δ/N and the gradients are made on the first call of
    ``backward_arrays``; a forward-only caller never pays for them.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, input first.
    n : int
        Samples in the batch.
    dtype : numpy.dtype
    dropout : sequence of float
        Dropout rate of each hidden layer (a mask buffer where it is not 0).
    input_dropout : float
    batch_norm : bool, default False
        Whether the hidden layers are batch-normalised (ẑ and δᵥ buffers for them).

    Attributes
    ----------
    z, a : list of ndarray, (n, k) per layer, column-major
    masks : list of ndarray or None, (n, k) per hidden layer, column-major like a
    dropped : list of ndarray or None, a ⊙ mask per hidden layer
    input_mask, input_dropped : ndarray or None, (n, n_in)
    z_hat : list of ndarray or None, (n, k) per layer: ẑ of each batch-normalised layer
    ones : ndarray, (n,), for the batch sums of the bias gradients (δᵀ·1 runs in
        BLAS, several times faster than ``np.sum(δ, axis=0)``)
    """

    def __init__(self, sizes: Sequence[int], n: int, dtype: np.dtype, dropout: Sequence[float],
                 input_dropout: float, batch_norm: bool = False) -> None:
        self.n, self.sizes, self.dtype, self.batch_norm = n, list(sizes), dtype, batch_norm
        outs = sizes[1:]
        self.z = [columns(n, k, dtype) for k in outs]
        self.a = [columns(n, k, dtype) for k in outs]
        hidden = list(zip(outs[:-1], dropout))
        self.masks = [columns(n, k, dtype) if r else None for k, r in hidden] + [None]
        self.dropped = [columns(n, k, dtype) if r else None for k, r in hidden] + [None]
        self.input_mask = np.empty((n, sizes[0]), dtype) if input_dropout else None
        self.input_dropped = np.empty((n, sizes[0]), dtype) if input_dropout else None
        self.z_hat = [columns(n, k, dtype) if batch_norm else None for k in outs[:-1]] + [None]
        self.ones = np.ones(n, dtype)  # Σ over the batch as δᵀ·1, a BLAS gemv
        self._backward: tuple[list, list, list, list] | None = None

    @classmethod
    def for_batch(cls, kept: dict[int, StepBuffers], sizes: Sequence[int], n: int,
                  dtype: np.dtype, dropout: Sequence[float], input_dropout: float,
                  batch_norm: bool = False) -> StepBuffers:
        """The buffers for a batch of n samples from ``kept`` (batch size -> buffers), or new.

        ``kept`` holds at most three sizes (the batch size, the last batch, one more);
        pass an empty dict for buffers that nothing reuses.
        """
        step = kept.get(n)
        if step is None:
            if len(kept) >= 3:
                kept.pop(next(iter(kept)))
            step = kept[n] = cls(sizes, n, dtype, dropout, input_dropout, batch_norm)
        return step

    def backward_arrays(
        self,
    ) -> tuple[list[np.ndarray], list[np.ndarray | None], list[np.ndarray], list]:
        """(delta, scaled, grads, delta_v), allocated on the first call.

        Returns
        -------
        delta : list of ndarray, (n, k) per layer, column-major: δ of each layer's output
        scaled : list of ndarray or None: δ·s/N per layer where the batch is no larger
            than the layer's fan-in (then the cheaper place for s/N), else None
        grads : list of ndarray, [∇W⁽¹⁾, ∇b⁽¹⁾, ..., ∇γ⁽¹⁾, ...] in the parameters' shapes
        delta_v : list of ndarray or None, (n, k) per layer: δᵥ of each batch-normalised
            layer (B4), the δ its W's gradient is made of
        """
        if self._backward is None:
            n, ins, outs = self.n, self.sizes[:-1], self.sizes[1:]
            delta = [columns(n, k, self.dtype) for k in outs]
            scaled = [columns(n, k, self.dtype) if n <= n_in else None
                      for n_in, k in zip(ins, outs)]
            grads = [g for n_in, k in zip(ins, outs)
                     for g in (np.empty((k, n_in), self.dtype), np.empty(k, self.dtype))]
            hidden = outs[:-1] if self.batch_norm else []
            grads += [np.empty(k, self.dtype) for k in hidden]  # ∇γ
            delta_v = [columns(n, k, self.dtype) for k in hidden]
            delta_v += [None] * (len(outs) - len(hidden))
            self._backward = (delta, scaled, grads, delta_v)
        return self._backward
