"""The training step's fast path: the backward pass fused with the optimiser's update.

``Network.backward`` and ``Optimizer.step`` are the reference: one line per
equation, new arrays for every result.  This module computes the same step in
fewer passes over memory, as ``Trainer`` runs it (the pattern of
scikit-learn's ``_forward_pass`` and ``_forward_pass_fast``):

- every array lives in the ``StepBuffers`` of the batch size
  (``backprop.engine.buffers``), so a step allocates nothing of the batch's size;
- the optimiser's first factor s (-η for sgd, momentum and nesterov, 1 - β1
  for adam) joins the 1/N of the batch mean, on the smaller of δ and ∇, so
  ``backward_fused`` returns s·∇ at no extra pass;
- momentum's ΔW_t = αΔW_{t-1} - η∇ is made by the gradient's own matrix
  product, BLAS's C ← A·B + βC with C = ΔW and β = α (``backprop.engine.blas``);
  W ← W + ΔW and Adam's moving averages are OpenBLAS's threaded axpy/axpby.

What it needs: NumPy, and where NumPy's wheel ships OpenBLAS, that library
through :mod:`ctypes` (``backprop.engine.blas``); elsewhere, or with
``BACKPROP_BLAS=0``, every fused call falls back to plain NumPy passes.

Agreement with the reference (``tests/test_fused.py``): the same gradient and
the same update to rounding (relative 1e-10 in float64 after three steps, 1e-4 in
float32; Adam in float32 within 5 % of one step η, where ∇ is at rounding level and
m̂/√v̂ amplifies it), not bit for bit, because s/N is applied before the product
instead of after it.
With and without BLAS the momentum step is the same bit for bit for batches of
at most 256 samples (measured with OpenBLAS 0.3; ``tests/test_blas.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from backprop.engine import batchnorm, blas
from backprop.engine.network import Network
from backprop.engine.optim import SGD, Adam, Momentum, Nesterov, Optimizer
from backprop.engine.regularization import add_gradient, check_coefficients

#: Accumulate in BLAS from this many weights: below it the saving is nil and
#: OpenBLAS's small-matrix kernels round β·C + A·B differently from NumPy's path.
FUSE_MIN = 1 << 16


def backward_fused(
    net: Network,
    Y: np.ndarray,
    l1: float = 0.0,
    l2: float = 0.0,
    scale: float = 1.0,
    accumulate: Sequence[tuple[np.ndarray, float]] | None = None,
) -> list[np.ndarray]:
    """``Network.backward`` into reused buffers: s·∇J, or buffer ← β·buffer + s·∇J.

    Parameters
    ----------
    net : Network
        After ``net.forward(X, ...)`` on the batch whose targets are ``Y``.
    Y : ndarray, shape (N, n_out)
    l1, l2 : float
        Regularisation coefficients.
    scale : float, default 1
        Return s·∇ instead of ∇, at no cost: s joins the 1/N of the mean.
    accumulate : list of (ndarray, float), optional
        One (buffer, β) per parameter: make buffer ← β·buffer + s·∇ in place and
        return the buffers (one gemm for the large weight matrices).

    Returns
    -------
    list of ndarray
        [s∇W⁽¹⁾, s∇b⁽¹⁾, ...] (or the buffers): arrays of ``net.step_buffers``,
        overwritten by the next step with a batch of the same size.
    """
    step = net.step_buffers
    if net.cache is None or step is None:
        raise RuntimeError("backward_fused() needs a forward() on the same batch first")
    check_coefficients(l1, l2)
    inputs, zs, outs, masks = (net.cache[k] for k in ("inputs", "z", "a", "masks"))
    a_L, z_L = outs[-1], zs[-1]
    Y = np.asarray(Y, dtype=a_L.dtype)
    if Y.shape != a_L.shape:
        raise ValueError(f"Y must have shape {a_L.shape} (one row per sample), got {Y.shape}")
    n = a_L.shape[0]
    deltas, scaled, grads, deltas_v = step.backward_arrays()
    z_hats, inv_stds, n_layers = net.cache["z_hat"], net.cache["inv_std"], len(net.layers)
    delta = deltas[-1]
    if net.shortcut:
        np.subtract(a_L, Y, out=delta)  # (10): δ⁽ᴸ⁾ = a⁽ᴸ⁾ - y
    else:
        out = net.layers[-1].activation
        out.backward(z_L, a_L, net.loss.grad(a_L, Y), out=delta)  # (11): ∂J/∂a ⊙ ∂a/∂z
    for i in range(n_layers - 1, -1, -1):
        layer = net.layers[i]
        grad_W, grad_b = grads[2 * i], grads[2 * i + 1]
        acc_b = accumulate[2 * i + 1] if accumulate else None
        if layer.batch_norm:  # (B3) from δ of z = γ ⊙ ẑ + b, then (B4): δᵥ, W's δ
            acc_g = accumulate[2 * n_layers + i] if accumulate else None
            _sum_rows(grad_b, delta, None, step.ones, scale / n, acc_b)  # (B3): s∂J/∂b
            _sum_rows(grads[2 * n_layers + i], delta, z_hats[i], None, scale / n, acc_g)  # ∂J/∂γ
            delta = batchnorm.backward(delta, z_hats[i], inv_stds[i], layer.gamma,
                                       out=deltas_v[i])  # (B4)
        # J is the batch mean: s/N goes on the smaller of δ (N × n_out) and ∇ (n_out × n_in)
        d = delta if scaled[i] is None else np.multiply(delta, scale / n, out=scaled[i])
        s = scale / n if scaled[i] is None else 1.0  # what d still lacks of s/N
        acc_W = accumulate[2 * i] if accumulate else None
        grad_W = _weight_gradient(grad_W, d, inputs[i], s, acc_W)  # (14)-(17)
        if not layer.batch_norm:
            _sum_rows(grad_b, d, None, step.ones, s, acc_b)  # ∂J/∂b⁽ˡ⁾ = δ⁽ˡ⁺¹⁾, batch sum δᵀ·1
        add_gradient(grad_W, layer.W, scale * l1, scale * l2)  # + s(l2 W + l1 sign(W))
        if i > 0:
            back = np.matmul(delta, layer.W, out=deltas[i - 1])  # (13): W⁽ˡ⁾ᵀ δ⁽ˡ⁺¹⁾
            if masks[i - 1] is not None:
                back *= masks[i - 1]  # dropped units pass no gradient
            prev = net.layers[i - 1].activation
            delta = prev.backward(zs[i - 1], outs[i - 1], back, out=back)  # (12): ⊙ f'(z⁽ˡ⁾)
    net.cache["delta"] = deltas
    return grads if accumulate is None else [buf for buf, _ in accumulate]


def _weight_gradient(grad_W: np.ndarray, d: np.ndarray, a: np.ndarray, s: float,
                     acc: tuple[np.ndarray, float] | None) -> np.ndarray:
    """(14)-(17): grad_W ← s·dᵀa, or acc ← β·acc + s·dᵀa (returned instead of grad_W).

    With accumulate, acc ← β·acc + ∇ is one gemm where d already holds s/N and W is
    large (bit for bit the NumPy path for batches of at most 256).
    """
    acc_W, beta = acc if acc is not None else (None, 0.0)
    fuse = acc_W is not None and s == 1.0 and acc_W.size >= FUSE_MIN
    if not (fuse and blas.gemm(1.0, d.T, a, beta, acc_W)):  # (14)-(17) in BLAS
        np.matmul(d.T, a, out=grad_W)  # (14)-(17), the same product in NumPy
        if s != 1.0:
            grad_W *= s
        if acc_W is not None:
            acc_W *= beta
            acc_W += grad_W
    return grad_W if acc_W is None else acc_W


def _sum_rows(out: np.ndarray, delta: np.ndarray, z_hat: np.ndarray | None,
              ones: np.ndarray | None, s: float, acc: tuple[np.ndarray, float] | None) -> None:
    """out ← s·Σ δ over the batch (δᵀ·1, a BLAS gemv), or s·Σ δ ⊙ ẑ; then acc ← β·acc + out."""
    if z_hat is None:
        np.matmul(delta.T, ones, out=out)
    else:
        np.einsum("ij,ij->j", delta, z_hat, out=out)
    if s != 1.0:
        out *= s
    if acc is not None:
        buf, beta = acc
        buf *= beta
        buf += out


def train_step_fused(
    net: Network, optimizer: Optimizer, Y: np.ndarray, lr: float, l1: float = 0.0, l2: float = 0.0
) -> None:
    """One training step after ``net.forward(X, train=True, reuse=True)``: backward and update.

    The same step as ``optimizer.step(net.params(), net.backward(Y, l1, l2), lr)``,
    to rounding; an optimiser this module does not know (a user's subclass) runs
    exactly that.

    Parameters
    ----------
    net : Network
    optimizer : Optimizer
        Its state (``t``, velocities, moments) is updated as ``step`` would.
    Y : ndarray, shape (N, n_out)
        Targets of the batch.
    lr : float
        Learning rate η.
    l1, l2 : float
        Regularisation coefficients.
    """
    update = _UPDATES.get(type(optimizer))
    if update is None:
        optimizer.step(net.params(), net.backward(Y, l1, l2), lr)
        return
    update(net, optimizer, Y, lr, l1, l2)


def _sgd(net: Network, opt: SGD, Y: np.ndarray, lr: float, l1: float, l2: float) -> None:
    grads = backward_fused(net, Y, l1, l2, scale=-lr)  # ΔW = -η∇, -η folded into 1/N
    opt.t += 1
    for W, dW in zip(net.params(), grads):
        W += dW  # ΔW = -η∇, W ← W + ΔW


def _momentum(net: Network, opt: Momentum, Y: np.ndarray, lr: float, l1: float, l2: float) -> None:
    params = net.params()
    acc = [(dW, opt.momentum) for dW in opt.velocities(params)]
    backward_fused(net, Y, l1, l2, scale=-lr, accumulate=acc)  # ΔW = αΔW - η∇, in the gemm
    opt.t += 1
    for W, dW in zip(params, opt.velocities(params)):
        blas.axpy(1.0, dW, W)  # W ← W + ΔW (OpenBLAS's threaded axpy where it can)


def _nesterov(net: Network, opt: Nesterov, Y: np.ndarray, lr: float, l1: float, l2: float) -> None:
    params = net.params()
    grads = backward_fused(net, Y, l1, l2, scale=-lr)  # -η∇
    opt.t += 1
    alpha = opt.momentum
    for W, g, v in zip(params, grads, opt.velocities(params)):
        v *= alpha
        v += g  # v ← αv - η∇
        W += g
        W += np.multiply(v, alpha, out=g)  # W ← W + αv - η∇ (g is spent: it holds αv)


def _adam(net: Network, opt: Adam, Y: np.ndarray, lr: float, l1: float, l2: float) -> None:
    params = net.params()
    b1, b2 = opt.beta1, opt.beta2
    grads = backward_fused(net, Y, l1, l2, scale=1.0 - b1)  # (1 - β1)∇
    ms, vs = opt.moments(params)
    opt.t += 1
    # The bias corrections folded into the step size (Kingma & Ba, end of Sec. 2)
    step = lr * math.sqrt(1.0 - b2**opt.t) / (1.0 - b1**opt.t)
    eps_hat = opt.eps * math.sqrt(1.0 - b2**opt.t)
    for W, g, m, v in zip(params, grads, ms, vs):
        blas.axpby(1.0, g, b1, m)  # m ← β1 m + (1 - β1)∇  (g holds (1 - β1)∇)
        np.square(g, out=g)
        blas.axpby((1.0 - b2) / (1.0 - b1) ** 2, g, b2, v)  # v ← β2 v + (1 - β2)∇²
        np.sqrt(v, out=g)
        g += eps_hat
        blas.axpy(-step, np.divide(m, g, out=g), W)  # W ← W - η m̂ / (√v̂ + ε)


_Update = Callable[[Network, Optimizer, np.ndarray, float, float, float], None]
#: The fused update of each optimiser class (exact type: a subclass gets the reference step).
_UPDATES: dict[type, _Update] = {SGD: _sgd, Momentum: _momentum, Nesterov: _nesterov, Adam: _adam}
